"""One simulated student: a websocket client that speaks Streamlit's own protocol.

It sends what the browser sends (BackMsg protobufs from the installed `streamlit` package: a rerun
with the widgets' new values) and reads what the browser reads (ForwardMsg deltas), so a class of
60 costs the client side almost nothing while the server does exactly the work a browser causes.

The browser's side of the protocol, as this client plays it:
- connect to ws://HOST/_stcore/stream with the subprotocol "streamlit";
- open the page: BackMsg.rerun_script with an empty ClientState; the server streams the page as
  deltas and ends with script_finished;
- commit an edit: BackMsg.rerun_script whose widget_states hold the text areas' new values, and,
  because the text areas live in an st.fragment, that fragment's id (the browser does the same,
  so only the fragment reruns);
- a message the server already sent may come back as a reference (ref_hash): it is looked up in
  this client's cache of cacheable messages, as the browser does.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.typing import Subprotocol

METRIC_LABEL = "p(IsNext)"
FORWARD_LABEL = "forward pass"
FINISHED_OK = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


class ProtocolError(RuntimeError):
    """The server did something a browser would show as an error (or nothing at all in time)."""


@dataclass
class RunSeen:
    """What one script run sent back: the p(IsNext) shown, the forward pass's time the page shows
    (its "forward pass" metric) and the run's end."""

    metric: str | None = None
    metric_at: float | None = None
    forward_ms: float | None = None
    finished: int | None = None
    finished_at: float | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class Student:
    url: str  # http://host:port of the app (or of the proxy in front of it)
    timeout: float = 120.0
    text_area_ids: dict[str, str] = field(default_factory=dict)  # label -> widget id
    fragment_id: str = ""  # the fragment the text areas live in ("" = none: a full rerun)
    button_ids: dict[str, str] = field(default_factory=dict)  # label -> widget id
    metrics: dict[str, str] = field(default_factory=dict)  # label -> the value last drawn
    progress_text: str = ""  # the last progress bar's line (the Train tab's run status)
    auto_rerun: tuple[float, str] | None = None  # (seconds, fragment id) of a fragment that asks to be rerun
    _ws: websockets.ClientConnection | None = None
    _cache: dict[str, ForwardMsg] = field(default_factory=dict)

    async def open(self) -> RunSeen:
        """Load the page, connect and run the script once, as a browser opening the URL does."""
        cookie = await asyncio.to_thread(self._page_cookie)
        ws_url = self.url.replace("http", "ws", 1).rstrip("/") + "/_stcore/stream"
        headers = {"Cookie": cookie} if cookie else None
        self._ws = await websockets.connect(
            ws_url,
            subprotocols=[Subprotocol("streamlit")],
            max_size=None,
            additional_headers=headers,
            open_timeout=self.timeout,
        )
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_script_hash = ""
        return await self._run(msg)

    def _page_cookie(self) -> str:
        """GET the page and keep its cookies: behind ./serve_classroom.sh the proxy's routing cookie
        sends this student's websocket to the process that will hold its session, as for a browser."""
        with urllib.request.urlopen(self.url.rstrip("/") + "/", timeout=self.timeout) as page:
            cookies = page.headers.get_all("Set-Cookie") or []
        return "; ".join(c.split(";", 1)[0] for c in cookies)

    async def edit(self, texts: dict[str, str]) -> tuple[float, RunSeen]:
        """Commit new text in the text areas (label -> text); seconds until the new p(IsNext) arrived."""
        seconds, _, seen = await self.timed_edit(texts)
        return seconds, seen

    async def timed_edit(self, texts: dict[str, str]) -> tuple[float, float, RunSeen]:
        """Commit new text in the text areas (label -> text): seconds until the new p(IsNext) arrived,
        seconds until the rerun finished, and what it sent."""
        msg = BackMsg()
        state = msg.rerun_script
        state.fragment_id = self.fragment_id
        for label, text in texts.items():
            state.widget_states.widgets.append(WidgetState(id=self.text_area_ids[label], string_value=text))
        start = time.perf_counter()
        seen = await self._run(msg)
        if seen.metric_at is None:
            raise ProtocolError(f"the rerun ended without a {METRIC_LABEL} value")
        assert seen.finished_at is not None  # _run returns only after script_finished, which sets it
        return seen.metric_at - start, seen.finished_at - start, seen

    async def press(self, label: str) -> RunSeen:
        """Click a button (a full rerun whose widget states hold the button's trigger), as a browser does."""
        msg = BackMsg()
        msg.rerun_script.widget_states.widgets.append(WidgetState(id=self.button_ids[label], trigger_value=True))
        return await self._run(msg)

    @property
    def run_ended(self) -> bool:
        """The Train tab's progress line says how the run ended ("Run finished at step ...", "Run stopped ...")."""
        return self.progress_text.startswith("Run ")

    async def follow_run(self, limit: float, until: Callable[[str], bool] = lambda line: False) -> str:
        """Keep the page open while a training run goes on: answer the live panel's auto-rerun requests
        (the browser's timer does this) until the progress line says the run ended, `until(line)` holds
        or `limit` seconds passed. Returns that line; the held-out metrics drawn last are in `metrics`."""
        end = time.perf_counter() + limit
        while time.perf_counter() < end and not self.run_ended and not until(self.progress_text):
            if self.auto_rerun is None:
                raise ProtocolError("the Train tab drew no live panel that reruns itself")
            interval, fragment = self.auto_rerun
            await asyncio.sleep(interval)
            msg = BackMsg()
            msg.rerun_script.fragment_id = fragment
            msg.rerun_script.is_auto_rerun = True
            try:
                await self._run(msg)
            except ProtocolError:
                if not self.run_ended:  # at the end the panel reruns the whole page
                    raise
        return self.progress_text

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def _run(self, msg: BackMsg) -> RunSeen:
        assert self._ws is not None, "open() first"
        await self._ws.send(msg.SerializeToString())
        seen = RunSeen()
        deadline = time.perf_counter() + self.timeout
        while seen.finished is None:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise ProtocolError(f"no script_finished within {self.timeout:.0f} s")
            raw = await asyncio.wait_for(self._ws.recv(decode=False), left)  # protobuf frames: bytes
            self._read(self._resolve(raw), seen)
            if seen.finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                seen.finished = None  # the script called st.rerun(): the run that answers is the next one
        if seen.finished not in FINISHED_OK or seen.errors:
            raise ProtocolError(f"run ended with status {seen.finished}: {'; '.join(seen.errors)[:300]}")
        return seen

    def _resolve(self, raw: bytes) -> ForwardMsg:
        fwd = ForwardMsg()
        fwd.ParseFromString(raw)
        if fwd.WhichOneof("type") == "ref_hash":
            if fwd.ref_hash not in self._cache:
                raise ProtocolError("the server referred to a message this client never received")
            cached = ForwardMsg()
            cached.CopyFrom(self._cache[fwd.ref_hash])
            return cached
        if fwd.metadata.cacheable and fwd.hash:
            self._cache[fwd.hash] = fwd
        return fwd

    def _read(self, fwd: ForwardMsg, seen: RunSeen) -> None:
        kind = fwd.WhichOneof("type")
        if kind == "script_finished":
            seen.finished, seen.finished_at = fwd.script_finished, time.perf_counter()
        elif kind == "auto_rerun":
            self.auto_rerun = (fwd.auto_rerun.interval, fwd.auto_rerun.fragment_id)
        elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
            element = fwd.delta.new_element
            which = element.WhichOneof("type")
            if which == "metric" and element.metric.label == METRIC_LABEL and seen.metric is None:
                seen.metric, seen.metric_at = element.metric.body, time.perf_counter()
            elif which == "metric" and element.metric.label == FORWARD_LABEL:
                seen.forward_ms = float(element.metric.body.split()[0])
            elif which == "metric":
                self.metrics[element.metric.label] = element.metric.body
            elif which == "button":
                self.button_ids[element.button.label] = element.button.id
            elif which == "progress":
                self.progress_text = element.progress.text
            elif which == "text_area":
                self.text_area_ids[element.text_area.label] = element.text_area.id
                self.fragment_id = fwd.delta.fragment_id
            elif which == "exception":
                seen.errors.append(f"{element.exception.type}: {element.exception.message}")
