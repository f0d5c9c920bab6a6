"""`pycrm import csv` of a 100,000-row contact CSV vs `sqlite-utils insert … --csv`, in the same run.

Both are run as fresh processes on the same generated file (Google-style headers, accents, phones,
companies, tags, a custom column) into fresh databases. pycrm does everything an import does
(encoding and delimiter detection, mapping, validation, phone normalisation, dedupe, companies,
ChangeLog, search index); sqlite-utils validates nothing. Prints both wall times, the ratio
(target ≤ 1.0×), each process's CPU time and peak memory (ru_maxrss of the child), plus pycrm's peak memory
at half the rows to show it does not grow with the file. pycrm validates files over 2 MB in two forked
worker processes, or, importing into a database without contacts with ``write_ahead`` (``plan_import``),
validates in its own process while a second one writes the new contacts: its CPU time includes theirs,
and its peak is that of the largest single process (bench/run sums the whole tree's PSS instead).

    python bench/bench_import.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent
FIRST = ["Ana", "João", "Conceição", "Renée", "Bruno", "Chloé", "María", "Łukasz", "Zoë", "Ahmed"]
LAST = ["Silva", "Araújo", "Lefèvre", "Martin", "García", "Costa", "O'Neil", "Müller", "Nguyễn"]
COMPANIES = [f"Empresa {i} Ltda" for i in range(2000)]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["First Name", "Last Name", "E-mail 1 - Value", "Phone 1 - Value",
                         "Organization Name", "Organization Title", "Labels", "Notes", "Shoe Size"])  # fmt: skip
        for i in range(rows):
            writer.writerow([
                rnd.choice(FIRST), rnd.choice(LAST), f"person{i}@example{i % 97}.com",
                f"+55 11 9{i % 10000:04d}-{rnd.randint(0, 9999):04d}", rnd.choice(COMPANIES),
                rnd.choice(["CFO", "Buyer", "", "Gerente"]),
                rnd.choice(["vip ::: * myContacts", "* myContacts", "lead"]),
                rnd.choice(["", "Met at the fair,\nlikes tea", "Prefers e-mail"]), str(rnd.randint(35, 46)),
            ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    sqlite_utils = shutil.which("sqlite-utils", path=str(BIN)) or shutil.which("sqlite-utils")
    if not sqlite_utils:
        sys.exit("sqlite-utils is not installed")
    with tempfile.TemporaryDirectory(prefix="pycrm-bench-") as tmp:
        folder = Path(tmp)
        half, full = folder / "half.csv", folder / "contacts.csv"
        generate(half, args.rows // 2)
        generate(full, args.rows)
        size = full.stat().st_size / 1e6
        print(f"file: {args.rows:,} rows, {size:.1f} MB")
        pycrm = [sys.executable, "-m", "pycrm"]
        # Memory is measured per child; run each in its own process so ru_maxrss is its own.
        t_su, m_su, c_su = _child(
            [sqlite_utils, "insert", str(folder / "su.db"), "contacts", str(full), "--csv"]
        )
        t_half, m_half, c_half = _child(
            [*pycrm, "--db", str(folder / "half.db"), "import", "csv", str(half)]
        )
        t_py, m_py, c_py = _child(
            [*pycrm, "--db", str(folder / "crm.db"), "import", "csv", str(full)]
        )
        t_again, _, c_again = _child(
            [*pycrm, "--db", str(folder / "crm.db"), "import", "csv", str(full)]
        )
    print(
        f"sqlite-utils insert --csv : {t_su:7.2f} s  cpu {c_su:6.2f} s  peak {m_su / 1024:6.1f} MiB"
    )
    print(
        f"pycrm import csv          : {t_py:7.2f} s  cpu {c_py:6.2f} s  peak {m_py / 1024:6.1f} MiB"
    )
    print(
        f"pycrm import csv (half)   : {t_half:7.2f} s  cpu {c_half:6.2f} s  peak {m_half / 1024:6.1f} MiB"
    )
    print(f"pycrm re-import (all skip): {t_again:7.2f} s  cpu {c_again:6.2f} s")
    ratio = t_py / t_su
    print(
        f"ratio pycrm / sqlite-utils: {ratio:.2f}×  (target ≤ 1.0×: {'met' if ratio <= 1.0 else 'NOT met'})"
    )
    # On a shared, loaded machine wall time swings with the neighbours; CPU time much less.
    print(f"CPU-time ratio            : {c_py / c_su:.2f}×")
    print(f"memory growth half → full : {(m_py - m_half) / 1024:+.1f} MiB")


def _child(cmd: list[str]) -> tuple[float, int, float]:
    """Run ``cmd`` via a tiny wrapper process so its peak RSS (and CPU time) is measured alone."""
    wrapper = (
        "import resource, subprocess, sys, time; s = time.perf_counter(); "
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "e = time.perf_counter() - s; "
        "sys.stderr.write(p.stderr[-2000:] if p.returncode else ''); "
        "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(e, u.ru_maxrss, u.ru_utime + u.ru_stime); sys.exit(p.returncode)"
    )
    proc = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:5])}… failed ({proc.returncode}): {proc.stderr[-2000:]}")
    elapsed, peak, cpu = proc.stdout.split()
    return float(elapsed), int(peak), float(cpu)


if __name__ == "__main__":
    main()
