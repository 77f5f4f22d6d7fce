/*
 * graph.cu - recorded work: the calls between br_graph_begin and
 * br_graph_end captured from the context's stream into a CUDA graph, then
 * launched as one.  A call that allocates or synchronises while recording
 * breaks the capture (cudaStreamEndCapture says so): the graph is refused
 * and the caller runs the calls again without recording.  A graph records
 * raw pointers, among them the scratch slots: when a slot is reallocated
 * (slot_gen moves), every graph made before is stale and refuses to run.
 */
#include <stdlib.h>

#include "common.cuh"

struct br_graph {
	cudaGraphExec_t exec;
	unsigned long long gen; /* slot_gen at recording */
};

int cu_graph_begin(br_ctx *ctx)
{
	struct cu_priv *P = cu_p(ctx);

	if (P->capturing)
		return br_ctx_fail(ctx, "already recording");
	/* thread-local: another thread's CUDA calls (none today) do not join the capture */
	CU_CHECK(ctx, cudaStreamBeginCapture(P->stream, cudaStreamCaptureModeThreadLocal));
	P->capturing = 1;
	P->cap_gen = P->slot_gen;
	return 0;
}

int cu_graph_end(br_ctx *ctx, br_graph **out)
{
	struct cu_priv *P = cu_p(ctx);
	cudaGraph_t g = NULL;
	cudaGraphExec_t exec = NULL;
	cudaError_t e;
	br_graph *bg;

	*out = NULL;
	if (!P->capturing)
		return br_ctx_fail(ctx, "not recording");
	P->capturing = 0;
	e = cudaStreamEndCapture(P->stream, &g);
	if (e != cudaSuccess || g == NULL || P->slot_gen != P->cap_gen) {
		if (g != NULL)
			cudaGraphDestroy(g);
		(void)cudaGetLastError();
		return br_ctx_fail(ctx, "the recording failed (%s)",
				   e != cudaSuccess ? cudaGetErrorString(e) : "scratch memory reallocated while recording");
	}
	e = cudaGraphInstantiate(&exec, g, 0);
	cudaGraphDestroy(g);
	if (e != cudaSuccess) {
		(void)cudaGetLastError();
		return br_ctx_fail(ctx, "cudaGraphInstantiate: %s", cudaGetErrorString(e));
	}
	bg = (br_graph *)malloc(sizeof *bg);
	if (bg == NULL) {
		cudaGraphExecDestroy(exec);
		return br_ctx_fail(ctx, "out of host memory");
	}
	bg->exec = exec;
	bg->gen = P->cap_gen;
	*out = bg;
	return 0;
}

int cu_graph_launch(br_ctx *ctx, br_graph *g)
{
	struct cu_priv *P = cu_p(ctx);

	if (g->gen != P->slot_gen)
		return br_ctx_fail(ctx, "stale: scratch memory was reallocated since the graph was recorded");
	CU_CHECK(ctx, cudaGraphLaunch(g->exec, P->stream));
	return 0;
}

int cu_graph_free(br_ctx *ctx, br_graph *g)
{
	(void)ctx;
	cudaGraphExecDestroy(g->exec);
	free(g);
	return 0;
}
