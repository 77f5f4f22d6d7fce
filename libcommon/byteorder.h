/*
 * byteorder.h - the host's byte order and swapping arrays of elements
 * (used by the NRRD and NIfTI readers and the NRRD writer).
 */
#ifndef BR_BYTEORDER_H
#define BR_BYTEORDER_H

#include <stddef.h>
#include <stdint.h>

/* 1 on a little-endian host */
static inline int br_host_is_le(void)
{
	const uint16_t one = 1;

	return *(const uint8_t *)&one == 1;
}

/* Reverse the bytes of each of n elements of size bytes. */
static inline void br_swap_bytes(void *data, size_t n, size_t size)
{
	unsigned char *p = data, t;
	size_t i, j;

	if (size < 2)
		return;
	for (i = 0; i < n; i++, p += size)
		for (j = 0; j < size / 2; j++) {
			t = p[j];
			p[j] = p[size - 1 - j];
			p[size - 1 - j] = t;
		}
}

#endif /* BR_BYTEORDER_H */
