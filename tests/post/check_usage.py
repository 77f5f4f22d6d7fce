#!/usr/bin/python3
"""check_usage.py PAGE USAGE_FILE: the options of a tool's -h text and of
its man page SYNOPSIS are the same.  Prints the difference and exits 1."""
import re
import sys


def man_options(page):
    src = open(page).read()
    syn = src.split(".Sh SYNOPSIS", 1)[1].split(".Sh ", 1)[0]
    opts = set()
    for line in syn.splitlines():
        m = re.match(r"\.(?:Op )?Fl (\S+)", line) or re.match(r"\.Op Fl (\S+)", line)
        if not m:
            continue
        word = m.group(1)
        if word.startswith("-"):
            opts.add("-" + word)              # Fl -labels -> --labels
        elif len(word) > 1 and line.startswith(".Op Fl " + word) and len(line.split()) == 3:
            opts.update("-" + c for c in word)  # .Op Fl fhkqv
        else:
            opts.add("-" + word[0])
    return opts


def usage_options(text):
    block = text.split("\n\n", 1)[0]
    opts = set()
    for m in re.finditer(r"\[(-{1,2}[A-Za-z][-A-Za-z]*)", block):
        w = m.group(1)
        if w.startswith("--"):
            opts.add(w)
        elif " " in block[m.end():m.end() + 1] or block[m.end()] == "]":
            if block[m.end()] == "]":
                opts.update("-" + c for c in w[1:])
            else:
                opts.add(w[:2])
    for m in re.finditer(r"(?<![\[-])(-[A-Za-z]) [a-z_]+", block):
        opts.add(m.group(1))                  # required options: -p pred_dir
    return opts


def main():
    a, b = man_options(sys.argv[1]), usage_options(open(sys.argv[2]).read())
    if a != b:
        print("man only: %s; usage only: %s" % (sorted(a - b), sorted(b - a)))
        sys.exit(1)
    print("options: " + " ".join(sorted(a)))


if __name__ == "__main__":
    main()
