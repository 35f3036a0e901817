"""System Chromium (Debian package ``chromium``), headless, for page tests.

Playwright's own browser downloads are never used: it drives ``/usr/bin/chromium`` through
``executable_path``. ``CHROMIUM_FLAGS`` are what this kind of machine needs (no sandbox as
root, no GPU, nothing phoning home). Playwright manages the profile dir itself (it rejects a
``--user-data-dir`` in ``args``); ``chromium_argv`` adds a fresh one for direct CLI runs.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ._proc import PeerError, require_binary

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"

CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--no-default-browser-check",
)


def chromium_binary() -> str:
    return require_binary(["/usr/bin/chromium", "chromium"], "chromium")


def chromedriver_binary() -> str:
    return require_binary(["/usr/bin/chromedriver", "chromedriver"], "chromium-driver")


def playwright_args() -> list[str]:
    """CHROMIUM_FLAGS minus ``--headless`` (Playwright adds its own headless switch)."""
    return [f for f in CHROMIUM_FLAGS if f != "--headless"]


def chromium_argv(user_data_dir: Path, *extra: str) -> list[str]:
    """Full command line for running the system chromium directly."""
    return [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", *extra]


def artifact_path(name: str) -> Path:
    """``test-artifacts/<name>`` (repo-relative, gitignored), parent created."""
    path = ARTIFACTS_DIR / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def cli_screenshot(url: str, out: Path, *, size: tuple[int, int] = (800, 600),
                   timeout: float = 60.0) -> Path:
    """``chromium --headless --screenshot`` of a loopback ``url``, without Playwright."""
    if not url.startswith(("http://127.", "http://localhost", "file:", "data:")):
        raise ValueError(f"loopback only, got {url!r}")
    with tempfile.TemporaryDirectory(prefix="slabridge-chromium-") as profile:
        argv = chromium_argv(
            Path(profile), f"--screenshot={out}", f"--window-size={size[0]},{size[1]}", url
        )
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
    if res.returncode != 0 or not out.exists():
        raise PeerError(f"chromium screenshot failed ({res.returncode}): {argv}\n"
                        + (res.stdout + res.stderr)[-3000:])
    return out


def launch_kwargs(extra_args: Sequence[str] = ()) -> dict:
    """Keyword arguments for Playwright's ``chromium.launch`` (sync or async API)."""
    return {
        "executable_path": chromium_binary(),
        "headless": True,
        "args": [*playwright_args(), *extra_args],
        "chromium_sandbox": False,
        "timeout": 60_000,
    }


@contextmanager
def sync_browser(extra_args: Sequence[str] = ()) -> Iterator:
    """A Playwright (sync API) Browser on the system chromium. Not usable inside a running
    event loop (i.e. not from ``async def`` tests): use :class:`AsyncBrowser` there."""
    from playwright.sync_api import sync_playwright

    kwargs = launch_kwargs(extra_args)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**kwargs)
        try:
            yield browser
        finally:
            browser.close()


class AsyncBrowser:
    """A Playwright (async API) Browser on the system chromium:
    ``async with AsyncBrowser() as browser: ...``."""

    def __init__(self, extra_args: Sequence[str] = ()) -> None:
        self._kwargs = launch_kwargs(extra_args)
        self._pw_cm = None
        self.browser = None

    async def __aenter__(self):
        from playwright.async_api import async_playwright

        self._pw_cm = async_playwright()
        pw = await self._pw_cm.__aenter__()
        try:
            self.browser = await pw.chromium.launch(**self._kwargs)
        except BaseException:
            await self._pw_cm.__aexit__(None, None, None)
            raise
        return self.browser

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self.browser is not None:
                await self.browser.close()
        finally:
            if self._pw_cm is not None:
                await self._pw_cm.__aexit__(None, None, None)
