#!/usr/bin/python3
"""check_usage.py PAGE USAGE: slice-png's -h text and its man page agree:
the options of the usage synopsis are those of the SYNOPSIS, and every
option the -h text explains has an entry in the page's option list."""
import re
import sys

FL = re.compile(r"\bFl (\S+)")


def man_sets(page):
    src = open(page).read()
    syn = src.split(".Sh SYNOPSIS", 1)[1].split(".Sh ", 1)[0]
    body = src.split(".Sh DESCRIPTION", 1)[1].split(".Sh ", 1)[0]
    synopsis, listed = set(), set()
    for line in syn.splitlines():
        words = line.split()
        for w in FL.findall(line):
            if w.startswith("-"):
                synopsis.add("-" + w)                # Fl -labels: --labels
            elif len(w) > 1 and words == [".Op", "Fl", w]:
                synopsis.update("-" + c for c in w)  # .Op Fl fhqv
            else:
                synopsis.add("-" + w)
    for line in body.splitlines():
        if line.startswith(".It Fl"):
            listed.update(("-" + w) for w in FL.findall(line))
    return synopsis, listed


def usage_sets(text):
    lines = text.splitlines()
    syn = [lines[0]]
    for ln in lines[1:]:
        if not ln.startswith(" "):
            break
        syn.append(ln)
    synopsis = set()
    for m in re.finditer(r"(?<![\w-])(--?[A-Za-z][-A-Za-z0-9]*)(\]?)", " ".join(syn)):
        w = m.group(1)
        if not w.startswith("--") and len(w) > 2 and m.group(2) == "]":
            synopsis.update("-" + c for c in w[1:])  # [-fhqv]
        else:
            synopsis.add(w)
    explained = set()
    for ln in lines[len(syn):]:
        if re.match(r"\s+-", ln):
            head = ln.strip().split("  ")[0]  # "-z N, --axial N" before the explanation
            explained.update(re.findall(r"(?<![\w-])(--?[A-Za-z][-A-Za-z0-9]*)", head))
    return synopsis, explained


def main():
    msyn, mlist = man_sets(sys.argv[1])
    usyn, uexp = usage_sets(open(sys.argv[2]).read())
    bad = []
    if msyn != usyn:
        bad.append("SYNOPSIS only: %s; -h only: %s" % (sorted(msyn - usyn), sorted(usyn - msyn)))
    if uexp - mlist:
        bad.append("explained by -h but not in the page's option list: %s" % sorted(uexp - mlist))
    if msyn - mlist:
        bad.append("in the SYNOPSIS but not in the option list: %s" % sorted(msyn - mlist))
    if bad:
        print("; ".join(bad))
        sys.exit(1)
    print("options: " + " ".join(sorted(msyn)))


if __name__ == "__main__":
    main()
