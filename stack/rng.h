/*
 * rng.h - a small seeded pseudo-random generator (xoshiro256**, seeded by
 * splitmix64). Every user owns its own state: there is no global RNG, so a
 * run replays exactly from its seed.
 */
#ifndef ZC_RNG_H
#define ZC_RNG_H

#include <stdint.h>

struct zc_rng {
	uint64_t s[4];
};

static inline uint64_t zc__splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void zc_rng_seed(struct zc_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = zc__splitmix64(&seed);
}

static inline uint64_t zc__rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t zc_rng_next(struct zc_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = zc__rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = zc__rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n); n > 0. */
static inline uint64_t zc_rng_below(struct zc_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)zc_rng_next(r) * n) >> 64);
}

/* True with probability p (0 <= p <= 1). */
static inline int zc_rng_chance(struct zc_rng *r, double p)
{
	if (p <= 0.0)
		return 0;
	return (double)(zc_rng_next(r) >> 11) * 0x1.0p-53 < p;
}

#endif
