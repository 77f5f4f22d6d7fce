/*
 * rng.h - the project's one random-number generator, for host and device.
 *
 * Everything random in the project (weight initialisation, slice order,
 * flips, dropout masks, the phantom's parameters and noise) is drawn from
 * these few functions, so that a seed means the same thing everywhere and
 * a CUDA kernel draws the same numbers as the CPU code:
 *
 *   br_mix64            splitmix64's finaliser, a bijective 64-bit hash
 *   br_splitmix64       one step of the splitmix64 stream (state += golden
 *                       gamma, then the finaliser)
 *   br_xoshiro256_seed  xoshiro256** state from a 64-bit seed (four
 *   br_xoshiro256_next  splitmix64 steps) and its next output
 *   br_unit_double      top 53 bits of a 64-bit value as a double in [0, 1)
 *   br_unit_float       top 24 bits as a float in [0, 1)
 *   br_counter_uniform  counter-based uniform float of (seed, index): the
 *                       finaliser of seed + (index + 1) * gamma; no state,
 *                       so any thread can draw element i
 *
 * Header only (static inline), marked __host__ __device__ when compiled by
 * nvcc, as llm.c shares its helpers between host and device.  The
 * arithmetic is part of the file formats' meaning (a checkpoint trained with
 * a seed, a phantom made from one): changing a constant changes outputs.
 */
#ifndef BR_RNG_H
#define BR_RNG_H

#include <stdint.h>

#if defined(__CUDACC__)
#define BR_RNG_FN static inline __host__ __device__
#else
#define BR_RNG_FN static inline
#endif

/* 2^64 / golden ratio, splitmix64's increment */
#define BR_RNG_GAMMA 0x9E3779B97F4A7C15ULL

BR_RNG_FN uint64_t br_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

BR_RNG_FN uint64_t br_splitmix64(uint64_t *state)
{
	return br_mix64(*state += BR_RNG_GAMMA);
}

BR_RNG_FN uint64_t br_rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* s: the four words of xoshiro256** state */
BR_RNG_FN void br_xoshiro256_seed(uint64_t s[4], uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		s[i] = br_splitmix64(&seed);
}

BR_RNG_FN uint64_t br_xoshiro256_next(uint64_t s[4])
{
	uint64_t r = br_rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = br_rotl64(s[3], 45);
	return r;
}

BR_RNG_FN double br_unit_double(uint64_t x)
{
	return (double)(x >> 11) * (1.0 / 9007199254740992.0); /* 2^-53 */
}

BR_RNG_FN float br_unit_float(uint64_t x)
{
	return (float)(x >> 40) * (1.0f / 16777216.0f); /* 2^-24 */
}

BR_RNG_FN float br_counter_uniform(uint64_t seed, uint64_t i)
{
	return br_unit_float(br_mix64(seed + (i + 1) * BR_RNG_GAMMA));
}

#endif
