/* nonfinite.c - count NaN and infinite values of a flat array. */
#include "cpu.h"

int cpu_count_nonfinite(br_ctx *ctx, size_t *count, const float *x, size_t n)
{
	size_t c = 0;

#pragma omp parallel for num_threads(cpu_nt(ctx, n, 1 << 16)) schedule(static) reduction(+ : c)
	for (size_t i = 0; i < n; i++) {
		union {
			float f;
			uint32_t u;
		} v = { x[i] };
		c += (v.u & 0x7f800000u) == 0x7f800000u;
	}
	*count = c;
	return 0;
}
