"""A small WebDriver BiDi client for the browser tests in Firefox.

Playwright drives only its own patched Firefox builds; Debian's ``firefox-esr`` speaks the W3C
WebDriver BiDi protocol natively (``--remote-debugging-port``), so the tests talk to it directly over
its websocket: sessions, browsing contexts, script, input and screenshots. Only what the tests use.
"""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from websockets.sync.client import ClientConnection, connect

# Firefox preferences for a quiet, reproducible headless profile (the remote agent adds its own).
PREFERENCES = {
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.sessionstore.resume_from_crash": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "network.captive-portal-service.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "layout.css.devPixelsPerPx": "1.0",
}

# WebDriver's code points for the keys that are not characters.
KEYS = {
    "Backspace": "\ue003",
    "Tab": "\ue004",
    "Enter": "\ue007",
    "Shift": "\ue008",
    "Control": "\ue009",
    "Alt": "\ue00a",
    "Escape": "\ue00c",
    "End": "\ue010",
    "Home": "\ue011",
    "ArrowLeft": "\ue012",
    "ArrowUp": "\ue013",
    "ArrowRight": "\ue014",
    "ArrowDown": "\ue015",
}


class BiDiError(RuntimeError):
    """A command the browser refused, or a script that threw."""


class Firefox:
    """A headless Firefox process and its one BiDi session."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.log = log
        self._stack = contextlib.ExitStack()
        self._socket: ClientConnection = self._stack.enter_context(
            connect(url, max_size=None, open_timeout=30)
        )
        self._next_id = 0
        self._answers: dict[int, dict[str, Any]] = {}
        self._listeners: dict[str, list[Callable[[dict[str, Any]], None]]] = {}
        capabilities = self.command("session.new", {"capabilities": {}})["capabilities"]
        self.version = f"{capabilities['browserName']} {capabilities['browserVersion']}"

    @classmethod
    def launch(cls, executable: Path, home: Path, timeout: float = 60) -> Self:
        """Starts Firefox on a fresh profile in ``home`` with BiDi on a free port, and opens a session."""
        profile = home / "profile"
        profile.mkdir(parents=True)
        (profile / "user.js").write_text(
            "".join(
                f"user_pref({json.dumps(name)}, {json.dumps(value)});\n"
                for name, value in PREFERENCES.items()
            )
        )
        log = home / "firefox.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [
                    str(executable),
                    "--headless",
                    "--no-remote",
                    "--remote-debugging-port=0",
                    "--profile",
                    str(profile),
                ],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        # Firefox writes the port it chose into the profile once the BiDi server listens.
        server = profile / "WebDriverBiDiServer.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BiDiError(
                    f"Firefox exited with {process.returncode}: {log.read_text(errors='replace')}"
                )
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
                address = json.loads(server.read_text())
                return cls(process, f"ws://{address['ws_host']}:{address['ws_port']}/session", log)
            time.sleep(0.05)
        process.kill()
        raise BiDiError(
            f"Firefox did not start its BiDi server in {timeout}s: {log.read_text(errors='replace')}"
        )

    def command(self, method: str, params: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        """Sends one command and returns its result. Events arriving meanwhile go to their listeners,
        which may send commands of their own (the answers are matched by id)."""
        self._next_id += 1
        sent = self._next_id
        self._socket.send(json.dumps({"id": sent, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while sent not in self._answers:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BiDiError(f"{method}: no answer in {timeout}s")
            try:
                message = json.loads(self._socket.recv(timeout=remaining))
            except TimeoutError:
                raise BiDiError(f"{method}: no answer in {timeout}s ({params})") from None
            if message.get("type") == "event":
                for listener in list(self._listeners.get(message["method"], [])):
                    listener(message["params"])
            elif "id" in message:
                self._answers[message["id"]] = message
        answer = self._answers.pop(sent)
        if answer.get("type") == "error":
            raise BiDiError(f"{method}: {answer.get('error')}: {answer.get('message')}")
        result: dict[str, Any] = answer["result"]
        return result

    def on(self, event: str, listener: Callable[[dict[str, Any]], None]) -> None:
        if event not in self._listeners:
            self.command("session.subscribe", {"events": [event]})
        self._listeners.setdefault(event, []).append(listener)

    def off(self, event: str, listener: Callable[[dict[str, Any]], None]) -> None:
        self._listeners[event].remove(listener)

    def new_tab(self, width: int, height: int) -> Tab:
        """A tab in a user context of its own: cookies and storage are not shared between tabs."""
        user_context = self.command("browser.createUserContext", {})["userContext"]
        context = self.command("browsingContext.create", {"type": "tab", "userContext": user_context})[
            "context"
        ]
        tab = Tab(self, context, user_context)
        tab.set_viewport(width, height)
        # in front and focused, as a user's tab is: focus and blur handlers behave as they would
        self.command("browsingContext.activate", {"context": context})
        return tab

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.command("browser.close", {}, timeout=10)
        self._stack.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Tab:
    """One browsing context: navigation, script, keyboard and mouse, screenshots. Collects the page's
    console errors and uncaught exceptions in ``errors``."""

    def __init__(self, browser: Firefox, context: str, user_context: str) -> None:
        self.browser = browser
        self.context = context
        self.user_context = user_context
        self.base_url = ""
        self.errors: list[str] = []
        self._cleanup: list[Callable[[], None]] = []
        browser.on("log.entryAdded", self._log)

    def _log(self, entry: dict[str, Any]) -> None:
        if entry.get("source", {}).get("context") == self.context and entry.get("level") == "error":
            self.errors.append(str(entry.get("text")))

    def close(self) -> None:
        self.browser.off("log.entryAdded", self._log)
        for undo in self._cleanup:
            undo()
        self.browser.command("browsingContext.close", {"context": self.context})
        self.browser.command("browser.removeUserContext", {"userContext": self.user_context})

    def set_viewport(self, width: int, height: int) -> None:
        self.browser.command(
            "browsingContext.setViewport",
            {"context": self.context, "viewport": {"width": width, "height": height}, "devicePixelRatio": 1},
        )

    def goto(self, path: str) -> None:
        self.browser.command(
            "browsingContext.navigate",
            {"context": self.context, "url": self.base_url + path, "wait": "complete"},
        )

    @property
    def url(self) -> str:
        return str(self.evaluate("location.href"))

    def respond(self, pathname: str, body: str, content_type: str = "application/json") -> None:
        """From now on, this tab's requests to ``pathname`` (any query) get ``body`` instead of reaching
        the server: a stand-in for an API answer."""
        intercept = self.browser.command(
            "network.addIntercept",
            {
                "phases": ["beforeRequestSent"],
                "urlPatterns": [{"type": "pattern", "pathname": pathname}],
                "contexts": [self.context],
            },
        )["intercept"]

        def fulfil(event: dict[str, Any]) -> None:
            if event.get("isBlocked") and intercept in event.get("intercepts", []):
                self.browser.command(
                    "network.provideResponse",
                    {
                        "request": event["request"]["request"],
                        "statusCode": 200,
                        "reasonPhrase": "OK",
                        "headers": [
                            {"name": "Content-Type", "value": {"type": "string", "value": content_type}}
                        ],
                        "body": {"type": "string", "value": body},
                    },
                )

        self.browser.on("network.beforeRequestSent", fulfil)
        self._cleanup.append(lambda: self.browser.off("network.beforeRequestSent", fulfil))

    def stall(self, pathname: str) -> None:
        """From now on, this tab's requests to ``pathname`` (any query) never get an answer: a slow
        server, frozen."""
        intercept = self.browser.command(
            "network.addIntercept",
            {
                "phases": ["beforeRequestSent"],
                "urlPatterns": [{"type": "pattern", "pathname": pathname}],
                "contexts": [self.context],
            },
        )["intercept"]

        def release() -> None:
            self.browser.command("network.removeIntercept", {"intercept": intercept})

        self._cleanup.append(release)

    # ---- script -------------------------------------------------------------------------------

    def call(self, function: str, *args: Any) -> Any:
        """Calls the JavaScript ``function`` (awaited) with JSON arguments; returns its result as JSON."""
        declaration = (
            "async (encoded) => { const value = await (" + function + ")(...JSON.parse(encoded));"
            " return JSON.stringify(value === undefined ? null : value); }"
        )
        answer = self.browser.command(
            "script.callFunction",
            {
                "functionDeclaration": declaration,
                "arguments": [{"type": "string", "value": json.dumps(list(args))}],
                "target": {"context": self.context},
                "awaitPromise": True,
                "userActivation": True,
            },
        )
        if answer["type"] == "exception":
            details = answer["exceptionDetails"]
            raise BiDiError(f"script threw: {details.get('text')}")
        return json.loads(answer["result"]["value"])

    def evaluate(self, expression: str) -> Any:
        return self.call(f"() => ({expression})")

    def wait_for(self, predicate: str, *args: Any, timeout: float = 20) -> Any:
        """Until the JavaScript ``predicate`` returns something truthy (checked in the page every
        animation frame); returns it. Survives navigations while it waits."""
        waiter = (
            "async (budget, ...args) => { const check = "
            + predicate
            + "; const end = performance.now() + budget;"
            " for (;;) { const value = await check(...args); if (value) return value;"
            " if (performance.now() > end) return null;"
            " await new Promise((done) => requestAnimationFrame(() => setTimeout(done))); } }"
        )
        deadline = time.monotonic() + timeout
        last_error: BiDiError | None = None
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                value = self.call(waiter, min(remaining, 2) * 1000, *args)
            except BiDiError as error:  # the page navigated away while checking
                last_error = error
                time.sleep(0.05)
                continue
            if value:
                return value
        state = self._state()
        raise TimeoutError(
            f"waited {timeout}s for {predicate} with {args}; page: {state}"
            + (f" ({last_error})" if last_error else "")
        )

    def _state(self) -> str:
        """Where the page is, for error messages."""
        try:
            return str(
                self.evaluate(
                    "{url: location.href, focused: document.hasFocus(), active: document.activeElement?.outerHTML"
                    ".slice(0, 120), ready: document.querySelector('main')?.dataset.ready ?? null}"
                )
            )
        except BiDiError as error:
            return f"unknown ({error})"

    def wait_for_selector(self, selector: str, timeout: float = 20) -> None:
        self.wait_for("(selector) => document.querySelector(selector) !== null", selector, timeout=timeout)

    def count(self, selector: str) -> int:
        return int(self.call("(selector) => document.querySelectorAll(selector).length", selector))

    def text(self, selector: str) -> str:
        """What a user reads in the first element matching ``selector`` (innerText, or the text of an
        SVG element)."""
        value = self.call(
            "(selector) => { const e = document.querySelector(selector);"
            " return e === null ? null : (e.innerText ?? e.textContent); }",
            selector,
        )
        if value is None:
            raise BiDiError(f"no element matches {selector}")
        return str(value)

    def texts(self, selector: str) -> list[str]:
        return list(
            self.call(
                "(selector) => [...document.querySelectorAll(selector)].map(e => (e.innerText ?? e.textContent))",
                selector,
            )
        )

    def attribute(self, selector: str, name: str) -> str | None:
        value = self.call(
            "(selector, name) => document.querySelector(selector)?.getAttribute(name) ?? null", selector, name
        )
        return None if value is None else str(value)

    # ---- input --------------------------------------------------------------------------------

    def press(self, combination: str) -> None:
        """A key or a combination such as ``Shift+ArrowDown``, pressed and released as a user would."""
        keys = (
            [KEYS.get(key, key) for key in combination.split("+")] if len(combination) > 1 else [combination]
        )
        actions = [{"type": "keyDown", "value": key} for key in keys]
        actions += [{"type": "keyUp", "value": key} for key in reversed(keys)]
        self._perform([{"type": "key", "id": "keyboard", "actions": actions}])

    def type(self, text: str) -> None:
        actions: list[dict[str, str]] = []
        for character in text:
            actions += [{"type": "keyDown", "value": character}, {"type": "keyUp", "value": character}]
        self._perform([{"type": "key", "id": "keyboard", "actions": actions}])

    def click(self, selector: str, timeout: float = 20) -> None:
        """A mouse click in the middle of the first element matching ``selector`` once it is on screen
        and nothing covers it there."""
        point = self.wait_for(
            """(selector) => {
              const element = document.querySelector(selector);
              if (!element) return null;
              let box = element.getBoundingClientRect();
              if (box.bottom <= 0 || box.top >= innerHeight || box.right <= 0 || box.left >= innerWidth) {
                element.scrollIntoView({ block: 'center', inline: 'center' });
                box = element.getBoundingClientRect();
              }
              if (!box.width || !box.height) return null;
              const x = Math.round(box.left + box.width / 2), y = Math.round(box.top + box.height / 2);
              const hit = document.elementFromPoint(x, y);
              return hit && (element === hit || element.contains(hit)) ? { x, y } : null;
            }""",
            selector,
            timeout=timeout,
        )
        mouse: dict[str, Any] = {
            "type": "pointer",
            "id": "mouse",
            "parameters": {"pointerType": "mouse"},
            "actions": [
                {"type": "pointerMove", "x": point["x"], "y": point["y"], "origin": "viewport"},
                {"type": "pointerDown", "button": 0},
                {"type": "pointerUp", "button": 0},
            ],
        }
        self._perform([mouse])

    def drag(self, start: tuple[int, int], end: tuple[int, int]) -> None:
        """Presses the mouse button at ``start`` (viewport pixels), moves to ``end`` and releases it."""
        moves: list[dict[str, Any]] = [
            {"type": "pointerMove", "x": start[0], "y": start[1], "origin": "viewport"},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerMove", "x": end[0], "y": end[1], "origin": "viewport", "duration": 150},
            {"type": "pointerUp", "button": 0},
        ]
        self._perform(
            [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": moves}]
        )

    def wheel(self, at: tuple[int, int], delta_y: int) -> None:
        """Turns the mouse wheel over ``at`` (viewport pixels); positive scrolls down."""
        scroll = {"type": "scroll", "x": at[0], "y": at[1], "deltaX": 0, "deltaY": delta_y}
        self._perform([{"type": "wheel", "id": "wheel", "actions": [scroll]}])

    def _perform(self, actions: list[dict[str, Any]]) -> None:
        self.browser.command("input.performActions", {"context": self.context, "actions": actions})
        self.browser.command("input.releaseActions", {"context": self.context})

    # ---- pictures -----------------------------------------------------------------------------

    def screenshot(self, path: Path) -> None:
        data = self.browser.command("browsingContext.captureScreenshot", {"context": self.context})["data"]
        path.write_bytes(base64.b64decode(data))
