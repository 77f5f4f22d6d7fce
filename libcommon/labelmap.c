/*
 * labelmap.c - label maps as bytes (see labelmap.h).
 */
#include "labelmap.h"

br_vol *br_vol_labels_u8(br_vol *v, int labels2023)
{
	if (v->dim[3] != 1) {
		br_set_error("a label map has one channel, this record has %lld", (long long)v->dim[3]);
		return NULL;
	}
	if (br_vol_check_labels(v, labels2023) < 0)
		return NULL;
	if (v->dtype == BR_U8)
		return v;
	return br_vol_convert(v, BR_U8);
}
