/*
 * vec.cu - relu and sigmoid on flat float32 arrays, forward and backward.
 */
#include "common.cuh"

enum { VEC_RELU_F, VEC_RELU_B, VEC_SIG_F, VEC_SIG_B };

__global__ void k_vec(float *d_y, const float *d_a, const float *d_b, long long n, int kind)
/* d_y, d_a: (n)  d_b: (n) or NULL.  RELU_F: y = relu(a); RELU_B: y = a * (b > 0);
 * SIG_F: y = sigmoid(a); SIG_B: y = a * b * (1 - b) (b the sigmoid's output) */
{
	CU_GRID_LOOP(i, n)
	{
		const float a = d_a[i];
		float v;
		switch (kind) {
		case VEC_RELU_F:
			v = a > 0.0f ? a : 0.0f;
			break;
		case VEC_RELU_B:
			v = d_b[i] > 0.0f ? a : 0.0f;
			break;
		case VEC_SIG_F:
			v = cu_sigmoid(a);
			break;
		default:
			v = a * d_b[i] * (1.0f - d_b[i]);
			break;
		}
		d_y[i] = v;
	}
}

static int vec_run(br_ctx *ctx, float *y, const float *a, const float *b, size_t n, int kind)
{
	if (n == 0)
		return 0;
	k_vec<<<cu_blocks((long long)n, CU_THREADS), CU_THREADS, 0, cu_stream(ctx)>>>(y, a, b, (long long)n, kind);
	CU_CHECK(ctx, cudaGetLastError());
	return 0;
}

int cu_vec_relu_forward(br_ctx *ctx, float *y, const float *x, size_t n)
{
	return vec_run(ctx, y, x, NULL, n, VEC_RELU_F);
}

int cu_vec_relu_backward(br_ctx *ctx, float *dx, const float *dy, const float *x, size_t n)
{
	return vec_run(ctx, dx, dy, x, n, VEC_RELU_B);
}

int cu_vec_sigmoid_forward(br_ctx *ctx, float *y, const float *x, size_t n)
{
	return vec_run(ctx, y, x, NULL, n, VEC_SIG_F);
}

int cu_vec_sigmoid_backward(br_ctx *ctx, float *dx, const float *dy, const float *y, size_t n)
{
	return vec_run(ctx, dx, dy, y, n, VEC_SIG_B);
}
