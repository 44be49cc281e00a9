"""The reference for bench/tui_stream.py: Textual's own streaming Markdown, nothing else.

A minimal app that, when Enter is pressed, asks an OpenAI-compatible endpoint for a
streamed answer and writes each delta to ``Markdown.get_stream()`` inside an anchored
``VerticalScroll`` — the approach the Textual documentation shows.

    python -m bench.reference_stream_app --base-url http://127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import json

import httpx
from textual import work
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Footer, Markdown


class ReferenceStreamApp(App[None]):
    BINDINGS = [("enter", "ask", "Ask"), ("ctrl+q", "quit", "Quit")]

    def __init__(self, base_url: str, model: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.model = model

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="scroll"):
            yield Markdown("Press **Enter** to ask.", id="answer")
        yield Footer()

    def action_ask(self) -> None:
        self.stream_answer()

    @work(exclusive=True)
    async def stream_answer(self) -> None:
        markdown = self.query_one("#answer", Markdown)
        await markdown.update("")
        container = self.query_one("#scroll", VerticalScroll)
        container.anchor()
        stream = Markdown.get_stream(markdown)
        body = {"model": self.model, "stream": True, "messages": [{"role": "user", "content": "hello"}]}
        try:
            async with httpx.AsyncClient(timeout=None) as client:
                async with client.stream("POST", f"{self.base_url}/v1/chat/completions", json=body,
                                         headers={"authorization": "Bearer none"}) as response:
                    async for line in response.aiter_lines():
                        if not line.startswith("data: ") or line == "data: [DONE]":
                            continue
                        choices = json.loads(line[6:]).get("choices") or []
                        delta = (choices[0].get("delta") or {}).get("content") if choices else None
                        if delta:
                            await stream.write(delta)
        finally:
            await stream.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", default="fake-model")
    args = parser.parse_args()
    ReferenceStreamApp(args.base_url, args.model).run()


if __name__ == "__main__":
    main()
