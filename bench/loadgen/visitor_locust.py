"""Locust: the benchmark's visitor flow as a Locust user on websocket-client (run by
bench/loadgen_bench.py). Each user: connect, hello, call, wait for the room, then 10
messages, each after a 2 s think and answered (``ok``); then bye. Once per user: then it
idles until the run ends (a user that stops would be started again)."""

import json
import time
import uuid

import gevent
import websocket
from locust import User, task

THINK = 2.0


class Visitor(User):
    done = False

    def _until(self, ws, want):
        while True:
            message = json.loads(ws.recv())
            if message["type"] == "ping":
                ws.send('{"type":"pong"}')
            elif want(message):
                return message

    def _timed(self, name, started, exception=None):
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=exception,
            context={},
        )

    @task
    def chat(self):
        if self.done:
            gevent.sleep(60)
            return
        self.done = True
        started = time.perf_counter()
        ws = websocket.create_connection(f"{self.host}/ws/visitor")
        hello = {
            "type": "hello",
            "account": "demo",
            "button": "btn_main",
            "page_instance": uuid.uuid4().hex,
            "url": "http://shop/",
        }
        ws.send(json.dumps(hello))
        self._until(ws, lambda m: m["type"] == "snapshot")
        self._timed("hello", started)
        started = time.perf_counter()
        ws.send('{"type":"call","id":"c"}')
        room = self._until(ws, lambda m: m["type"] == "room_opened")["room"]["room"]
        self._timed("call", started)
        for i in range(10):
            gevent.sleep(THINK)
            started = time.perf_counter()
            ws.send(json.dumps({"type": "send", "id": f"m{i}", "room": room, "text": f"hi {i}"}))
            self._until(ws, lambda m, ref=f"m{i}": m["type"] == "ok" and m.get("ref") == ref)
            self._timed("send", started)
        ws.send('{"type":"bye"}')
        ws.close()
