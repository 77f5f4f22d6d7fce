/* linear.c - fully connected layers on flat arrays (the SE block's fc1, fc2). */
#include "cpu.h"

/* y: (N,O)  x: (N,I)  w: (O,I)  b: (O) or NULL */
int cpu_linear_forward(br_ctx *ctx, float *y, const float *x, const float *w, const float *b, int n, int in,
		       int out)
{
	for (int i = 0; i < n; i++)
		for (int o = 0; o < out; o++) {
			double acc = b != NULL ? b[o] : 0.0;
			for (int j = 0; j < in; j++)
				acc += (double)w[(size_t)o * in + j] * x[(size_t)i * in + j];
			y[(size_t)i * out + o] = (float)acc;
		}
	return 0;
}

/* dx: (N,I) written or NULL  dw: (O,I) added or NULL  db: (O) added or NULL  dy: (N,O) */
int cpu_linear_backward(br_ctx *ctx, float *dx, float *dw, float *db, const float *dy, const float *x,
			const float *w, int n, int in, int out)
{
	if (dx != NULL)
		for (int i = 0; i < n; i++)
			for (int j = 0; j < in; j++) {
				double acc = 0.0;
				for (int o = 0; o < out; o++)
					acc += (double)dy[(size_t)i * out + o] * w[(size_t)o * in + j];
				dx[(size_t)i * in + j] = (float)acc;
			}
	if (dw != NULL)
		for (int o = 0; o < out; o++)
			for (int j = 0; j < in; j++) {
				double acc = 0.0;
				for (int i = 0; i < n; i++)
					acc += (double)dy[(size_t)i * out + o] * x[(size_t)i * in + j];
				dw[(size_t)o * in + j] += (float)acc;
			}
	if (db != NULL)
		for (int o = 0; o < out; o++) {
			double acc = 0.0;
			for (int i = 0; i < n; i++)
				acc += dy[(size_t)i * out + o];
			db[o] += (float)acc;
		}
	return 0;
}
