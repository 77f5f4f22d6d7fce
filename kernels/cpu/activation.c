/* activation.c - ReLU and sigmoid on flat arrays. */
#include "cpu.h"

int cpu_vec_relu_forward(br_ctx *ctx, float *y, const float *x, size_t n)
{
#pragma omp parallel for simd num_threads(cpu_nt(ctx, n, 1 << 15)) schedule(static)
	for (size_t i = 0; i < n; i++)
		{
		float v = x[i];
		y[i] = v > 0.0f ? v : 0.0f;
	}
	return 0;
}

/* dx = dy * (x > 0), written */
int cpu_vec_relu_backward(br_ctx *ctx, float *dx, const float *dy, const float *x, size_t n)
{
#pragma omp parallel for simd num_threads(cpu_nt(ctx, n, 1 << 15)) schedule(static)
	for (size_t i = 0; i < n; i++)
		{
		float g = dy[i];
		dx[i] = x[i] > 0.0f ? g : 0.0f;
	}
	return 0;
}

int cpu_vec_sigmoid_forward(br_ctx *ctx, float *y, const float *x, size_t n)
{
#pragma omp parallel for num_threads(cpu_nt(ctx, n, 1 << 15)) schedule(static)
	for (size_t i = 0; i < n; i += 4096)
		cpu_sigmoid_n(y + i, x + i, n - i < 4096 ? n - i : 4096);
	return 0;
}

/* dx = dy * y (1 - y), y the forward's output; written */
int cpu_vec_sigmoid_backward(br_ctx *ctx, float *dx, const float *dy, const float *y, size_t n)
{
#pragma omp parallel for simd num_threads(cpu_nt(ctx, n, 1 << 15)) schedule(static)
	for (size_t i = 0; i < n; i++)
		dx[i] = dy[i] * y[i] * (1.0f - y[i]);
	return 0;
}
