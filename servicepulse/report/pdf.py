"""Optional PDF: the HTML page printed by headless Chromium (never required to produce the report)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PdfError", "print_pdf"]


class PdfError(RuntimeError):
    """Chromium is missing or could not print the page."""


def print_pdf(html_file: Path, pdf_file: Path, chromium: str = "chromium", timeout_s: float = 120) -> None:
    """Print `html_file` to `pdf_file` with headless Chromium (A4, the page's print style, no header/footer)."""
    binary = shutil.which(chromium)
    if binary is None:
        raise PdfError(f"{chromium!r} not found: install Chromium (Debian: apt-get install chromium) for --pdf")
    with tempfile.TemporaryDirectory(prefix="servicepulse-chromium-") as profile:
        done = subprocess.run(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-pdf-header-footer",
             f"--user-data-dir={profile}", f"--print-to-pdf={pdf_file.resolve()}",
             html_file.resolve().as_uri()],
            capture_output=True, text=True, timeout=timeout_s, check=False,
        )
    if done.returncode != 0 or not pdf_file.exists():
        raise PdfError(f"chromium exited {done.returncode}: {done.stderr.strip()[-500:]}")
