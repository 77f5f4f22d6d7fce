"""A tool's -h and its man page agree: every option of the page's SYNOPSIS
is in -h, and every option -h names is documented in the page (SYNOPSIS or
the option list).  usage: check_usage.py PAGE USAGE_FILE"""
import re
import sys

DELIMS = {"|", "[", "]", "(", ")", ",", "...", "Ns", "Ar", "Cm", "Op", "Oc", "Oo", "Fl", "Pq"}


def page_options(src, section=None):
    if section is not None:
        src = src.split(".Sh " + section, 1)[1].split("\n.Sh ", 1)[0]
    opts = set()
    for line in src.splitlines():
        if not line.startswith("."):
            continue
        words = line[1:].split()
        for i, w in enumerate(words):
            if w != "Fl":
                continue
            # the arguments of Fl up to the next macro
            for a in words[i + 1:]:
                if a in DELIMS or re.fullmatch(r"[A-Z][a-z]", a):
                    if a not in ("|",):
                        break
                    continue
                a = a.rstrip(",")
                if not a:
                    continue
                if a.startswith("-"):
                    opts.add("-" + a)             # Fl -seg -> --seg
                elif section == "SYNOPSIS" and len(a) > 1 and words[i - 1:i] == ["Op"] and words[i + 2:] == []:
                    opts.update("-" + c for c in a)  # .Op Fl fhqv
                else:
                    opts.add("-" + a[0] if len(a) == 1 else "-" + a)
    return opts


def usage_options(text):
    opts = set()
    for m in re.finditer(r"\[-([A-Za-z]{2,})\]", text):  # [-hqvf]
        opts.update("-" + c for c in m.group(1))
    for tok in re.split(r"[\s|]+", text):
        tok = tok.lstrip("[(").rstrip("]),.:;")
        m = re.fullmatch(r"(--[a-z][a-z0-9-]*|-[A-Za-z])(=.*)?", tok)
        if m:
            opts.add(m.group(1))
    return opts


def main():
    src = open(sys.argv[1]).read()
    usage = open(sys.argv[2]).read()
    syn = page_options(src, "SYNOPSIS")
    allp = page_options(src)
    use = usage_options(usage)
    missing_in_usage = sorted(syn - use)
    undocumented = sorted(use - allp)
    if missing_in_usage or undocumented:
        print("SYNOPSIS options not in -h: %s; -h options not in the page: %s" % (missing_in_usage, undocumented))
        sys.exit(1)
    print("%d options agree" % len(use))


if __name__ == "__main__":
    main()
