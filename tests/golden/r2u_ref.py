"""R2U-MTDS written from the model specification, independently of the C code.

Used as the reference by the golden tests and the CPU/GPU benchmarks.
Tensor names match the checkpoint table exactly (PyTorch state_dict order).
The ablations of doc/MODEL.md ("Ablations") are arguments of R2UMTDS:
block "apr" | "pre-res" | "pre-res-gated-skip", supervision "multi" |
"single" | "none", se True | False; the defaults are the paper's network.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class PreActUnit(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin, eps=1e-5, momentum=0.1)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.proj = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        r = self.conv1(F.relu(self.bn1(x)))
        r = self.conv2(F.relu(self.bn2(r)))
        s = self.proj(x) if self.proj is not None else x
        return s + r


class APR(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.unit = PreActUnit(cin, cout)
        self.gate = nn.Conv2d(cout, 1, 1)

    def forward(self, x):
        y = self.unit(x)
        a = torch.sigmoid(self.gate(F.relu(y)))
        return y * a


class SE(nn.Module):
    def __init__(self, c, p=0.2):
        super().__init__()
        self.fc1 = nn.Linear(c, c // 8)
        self.fc2 = nn.Linear(c // 8, c)
        self.p = p

    def forward(self, x):
        z = x.mean(dim=(2, 3))
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(z))))
        if self.training and self.p > 0:
            s = F.dropout(s, self.p, training=True)
        return x * s[:, :, None, None]


class Stage(nn.Module):
    def __init__(self, cin, cout, attention, p=0.2, se=True):
        super().__init__()
        self.block = APR(cin, cout) if attention else PreActUnit(cin, cout)
        self.se = SE(cout, p) if se else None

    def forward(self, x):
        y = self.block(x)
        return self.se(y) if self.se is not None else y


class Up(nn.Module):
    def __init__(self, cin, cout, p=0.2, se=True, skip_gate=False):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, 2, stride=2)
        # pre-res-gated-skip: the APR gate moved onto the skip connection
        self.gate = nn.Conv2d(cout, 1, 1) if skip_gate else None
        self.stage = Stage(2 * cout, cout, attention=False, p=p, se=se)

    def forward(self, x, skip):
        if self.gate is not None:
            skip = skip * torch.sigmoid(self.gate(F.relu(skip)))
        return self.stage(torch.cat([self.up(x), skip], dim=1))


BLOCKS = ("apr", "pre-res", "pre-res-gated-skip")
SUPERVISION = ("multi", "single", "none")


def up(x, s):
    return F.interpolate(x, scale_factor=s, mode="bilinear", align_corners=False)


class R2UMTDS(nn.Module):
    def __init__(self, b=32, p=0.2, block="apr", supervision="multi", se=True):
        super().__init__()
        assert block in BLOCKS and supervision in SUPERVISION
        self.supervision = supervision
        att, gated = block == "apr", block == "pre-res-gated-skip"
        self.enc1 = Stage(4, b, att, p, se)
        self.enc2 = Stage(b, 2 * b, att, p, se)
        self.enc3 = Stage(2 * b, 4 * b, att, p, se)
        self.enc4 = Stage(4 * b, 8 * b, att, p, se)
        self.dec3 = Up(8 * b, 4 * b, p, se, gated)
        self.dec2 = Up(4 * b, 2 * b, p, se, gated)
        self.dec1 = Up(2 * b, b, p, se, gated)
        multi = supervision == "multi"
        self.head_wt = nn.Conv2d(b, 1, 1)
        self.head_ed = nn.Conv2d(4 * b if multi else b, 1, 1)
        self.head_ncr = nn.Conv2d(2 * b if multi else b, 1, 1)
        self.head_et = nn.Conv2d(b, 1, 1)
        if supervision == "single":
            self.head_wt2 = nn.Conv2d(2 * b, 1, 1)
            self.head_wt3 = nn.Conv2d(4 * b, 1, 1)
        self.aux = ()  # the side outputs of the last forward pass (single)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self.enc3(F.max_pool2d(e2, 2))
        e4 = self.enc4(F.max_pool2d(e3, 2))
        d3 = self.dec3(e4, e3)
        d2 = self.dec2(d3, e2)
        d1 = self.dec1(d2, e1)
        wt = self.head_wt(d1)
        et = self.head_et(d1)
        if self.supervision == "multi":
            ncr = up(self.head_ncr(d2), 2)
            ed = up(self.head_ed(d3), 4)
        else:
            ncr = self.head_ncr(d1)
            ed = self.head_ed(d1)
        self.aux = (up(self.head_wt2(d2), 2), up(self.head_wt3(d3), 4)) if self.supervision == "single" else ()
        return wt, ncr, ed, et


def head_loss(logit, t):
    p = torch.sigmoid(logit)
    bce = F.binary_cross_entropy_with_logits(logit, t)
    dice = 1 - (2 * (p * t).sum() + 1) / ((p * p).sum() + (t * t).sum() + 1)
    return bce + dice


def targets(label):
    """label: (N,H,W) integer BraTS labels -> dict of (N,1,H,W) float targets."""
    lab = label[:, None]
    return {
        "wt": (lab > 0).float(),
        "ncr": (lab == 1).float(),
        "ed": (lab == 2).float(),
        "et": (lab == 4).float(),
    }


def total_loss(outs, label, lam=1.0, aux=()):
    """aux: whole-tumour side outputs (single-task deep supervision), each
    weighted lam like the sub-region heads."""
    wt, ncr, ed, et = outs
    t = targets(label)
    lw = head_loss(wt, t["wt"])
    le = head_loss(ed, t["ed"])
    ln = head_loss(ncr, t["ncr"])
    lt = head_loss(et, t["et"])
    if not aux:
        return lw + lam * (le + ln + lt), (lw, le, ln, lt)
    return lw + lam * (le + ln + lt + sum(head_loss(a, t["wt"]) for a in aux)), (lw, le, ln, lt)


def n_params(m):
    return sum(v.numel() for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked"))
