"""MQTT client sessions (connect, publish, subscribe, disconnect) with paho-mqtt.

The broker connection goes to the egress-checked address (paho's socket factory is replaced),
paho's network loop runs in its own thread, and the session lives in the run's resource
registry, so the loop is stopped and the connection closed when the run ends.
"""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING, Any, Iterator

from ... import http_egress, netio
from ...coerce import as_bool, as_int, as_str
from ...errors import NodeError
from ...registry import inp, out, register

if TYPE_CHECKING:
    from ...runtime import NodeContext

KIND = "mqtt"
QOS = {"AtMostOnce": 0, "AtLeastOnce": 1, "ExactlyOnce": 2}
MAX_QUEUED = 1000
_SESSION = inp("session", "Session", "Struct", options=netio.ENFORCE_SCHEMA,
               description="A session from 'MQTT Connect'.")
_QOS_PIN = inp("qos", "QoS", "String", default="AtMostOnce", options={"valid_values": list(QOS)})


class _Session:
    """A paho client plus the events its callbacks (on paho's thread) report."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.connect_reason: str | None = None
        self.acks: dict[int, list[Any]] = {}
        self.acked = threading.Condition()
        # Messages from paho's thread, for a subscribe node's handler; bounded so a flood cannot
        # grow memory (the oldest are kept, newer ones dropped and counted).
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue(maxsize=MAX_QUEUED)
        self.dropped = 0

    def wait(self, ctx: NodeContext, done: Any, what: str) -> None:
        """Wait for ``done()`` within the policy's timeout, checking cancel and deadline in between."""
        import time

        until = time.monotonic() + min(ctx.egress.timeout_seconds, ctx.time_left())
        while not done():
            if self.disconnected.is_set():
                raise NodeError(f"MQTT {what} failed: the broker closed the connection ({self.connect_reason})")
            if time.monotonic() >= until:
                raise NodeError(f"MQTT {what} timed out")
            with self.acked:
                self.acked.wait(netio.wait_slice(ctx, until))


def _client(policy: http_egress.EgressPolicy, client_id: str, timeout: float) -> Any:
    import paho.mqtt.client as paho

    class CheckedClient(paho.Client):
        # paho would resolve the host again (and honour proxy variables); connect to the checked address.
        def _create_socket_connection(self) -> Any:
            return http_egress.connect_checked(policy, self._host, self._port, timeout)

    return CheckedClient(paho.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)


def _close(session: _Session) -> None:
    try:
        session.client.disconnect()
    finally:
        session.client.loop_stop()


def _config(ctx: NodeContext) -> dict[str, Any]:
    config = netio.struct_input(ctx, "config", "an MQTT config")
    what = "MQTT config"
    parsed = {
        "host": netio.field(config, "host", str, what),
        "port": http_egress.check_port(netio.field(config, "port", int, what), "MQTT config field 'port'"),
        "client_id": netio.field(config, "client_id", str, what),
        "username": netio.field(config, "username", str, what, None),
        "password": netio.field(config, "password", str, what, None),
        "keep_alive": netio.field(config, "keep_alive_seconds", int, what, 30),
        "use_tls": netio.field(config, "use_tls", bool, what, False),
    }
    if not 1 <= parsed["keep_alive"] <= 65535:
        raise NodeError("MQTT config field 'keep_alive_seconds' must be from 1 to 65535")
    return parsed


def _open(ctx: NodeContext, config: dict[str, Any]) -> _Session:
    import ssl

    client = _client(ctx.egress, config["client_id"], netio.io_timeout(ctx))
    session = _Session(client)

    def on_connect(_client: Any, _userdata: Any, _flags: Any, reason: Any, _properties: Any) -> None:
        session.connect_reason = str(reason)
        if reason.is_failure:
            session.disconnected.set()
        else:
            session.connected.set()
        with session.acked:
            session.acked.notify_all()

    def on_disconnect(_client: Any, _userdata: Any, _flags: Any, reason: Any, _properties: Any) -> None:
        session.connect_reason = session.connect_reason or str(reason)
        session.disconnected.set()
        with session.acked:
            session.acked.notify_all()

    def on_subscribe(_client: Any, _userdata: Any, mid: int, reasons: Any, _properties: Any) -> None:
        with session.acked:
            session.acks[mid] = list(reasons)
            session.acked.notify_all()

    def on_publish(_client: Any, _userdata: Any, _mid: int, _reason: Any, _properties: Any) -> None:
        with session.acked:
            session.acked.notify_all()

    def on_message(_client: Any, _userdata: Any, message: Any) -> None:
        try:
            session.messages.put_nowait((message.topic, bytes(message.payload)))
        except queue.Full:
            session.dropped += 1

    client.on_message = on_message
    client.on_connect, client.on_disconnect = on_connect, on_disconnect
    client.on_subscribe, client.on_publish = on_subscribe, on_publish
    if config["username"] is not None:
        client.username_pw_set(config["username"], config["password"])
    if config["use_tls"]:
        client.tls_set_context(ssl.create_default_context())
    try:
        client.connect(config["host"], config["port"], keepalive=config["keep_alive"])
    except NodeError:
        raise
    except (OSError, ValueError, ssl.SSLError) as exc:
        raise NodeError(f"MQTT connection to {config['host']}:{config['port']} failed: {type(exc).__name__}: {exc}"
                        ) from None
    client.loop_start()
    try:
        session.wait(ctx, session.connected.is_set, "connect")
    except BaseException:
        _close(session)
        raise
    return session


@register("mqtt_connect", "MQTT Connect", "Web/MQTT",
          "Connects to an MQTT broker and keeps the session for publish and subscribe.",
          [inp("exec_in", "Execute", "Execution"),
           inp("config", "Config", "Struct", options=netio.ENFORCE_SCHEMA,
               description="{host, port, client_id, username, password, keep_alive_seconds, use_tls}."),
           out("exec_out", "Done", "Execution", description="Runs once the broker accepted the connection."),
           out("session", "Session", "Struct", options=netio.ENFORCE_SCHEMA, description="{ref_id, client_id}."),
           out("exec_error", "Error", "Execution", description="Runs when the broker could not be reached or refused.")])
def mqtt_connect(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    ctx.deactivate("exec_error")
    config = _config(ctx)
    try:
        session = _open(ctx, config)
    except NodeError as exc:
        netio.fail_or_branch(ctx, "exec_error", str(exc))
        return
    ref_id = ctx.resources.add(KIND, session, _close)
    ctx.set("session", {"ref_id": ref_id, "client_id": config["client_id"]})
    ctx.activate("exec_out")


def _topic(ctx: NodeContext, wildcards: bool) -> str:
    topic = as_str(ctx.get("topic"), "topic")
    if not topic or "\0" in topic or len(topic.encode("utf-8")) > 65535:
        raise NodeError("input 'topic' must be a non-empty MQTT topic")
    if not wildcards and ("+" in topic or "#" in topic):
        raise NodeError("input 'topic' may not contain the wildcards + or # when publishing")
    return topic


def _qos(ctx: NodeContext) -> int:
    qos = as_str(ctx.get("qos"), "qos")
    if qos not in QOS:
        raise NodeError(f"input 'qos' must be one of {', '.join(QOS)}, got '{qos}'")
    return QOS[qos]


@register("mqtt_publish", "MQTT Publish", "Web/MQTT",
          "Publishes a text message; with QoS 1 or 2 it waits until the broker acknowledged it.",
          [inp("exec_in", "Execute", "Execution"),
           _SESSION,
           inp("topic", "Topic", "String"),
           inp("payload", "Payload", "String", description="Sent as UTF-8."),
           _QOS_PIN,
           inp("retain", "Retain", "Boolean", default=False),
           out("exec_out", "Done", "Execution")])
def mqtt_publish(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    session: _Session = ctx.resources.get(KIND, ctx.get("session"))
    topic, qos = _topic(ctx, wildcards=False), _qos(ctx)
    payload = as_str(ctx.get("payload"), "payload").encode("utf-8")
    retain = as_bool(ctx.get("retain"), "retain")
    info = session.client.publish(topic, payload, qos=qos, retain=retain)
    if info.rc != 0:
        raise NodeError(f"MQTT publish to '{topic}' failed (client error {info.rc})")
    session.wait(ctx, info.is_published, "publish")
    ctx.activate("exec_out")


@register("mqtt_subscribe", "MQTT Subscribe", "Web/MQTT",
          "Subscribes to a topic, runs 'On Subscribed', then holds the subscription until the session is "
          "disconnected, the broker drops it or the timeout passes, and continues on 'On Close'.",
          [inp("exec_in", "Execute", "Execution"),
           _SESSION,
           inp("topic", "Topic", "String", description="A topic filter; + and # wildcards allowed."),
           _QOS_PIN,
           inp("timeout_seconds", "Timeout (s)", "Integer", default=0,
               description="How long to hold the subscription; 0 holds it until the run's deadline."),
           out("on_subscribed", "On Subscribed", "Execution", description="Runs once the broker granted the subscription."),
           out("on_close", "On Close", "Execution", description="Runs when the subscription ended."),
           out("exec_error", "Error", "Execution", description="Runs when the broker refused the subscription.")],
          long_running=True)
def mqtt_subscribe(ctx: NodeContext) -> Iterator[list[Any]]:
    for pin in ("on_subscribed", "on_close", "exec_error"):
        ctx.deactivate(pin)
    session_ref = ctx.get("session")
    session: _Session = ctx.resources.get(KIND, session_ref)
    topic, qos = _topic(ctx, wildcards=True), _qos(ctx)
    timeout = as_int(ctx.get("timeout_seconds"), "timeout_seconds")
    if timeout < 0:
        raise NodeError("input 'timeout_seconds' must not be negative")
    try:
        result, mid = session.client.subscribe(topic, qos=qos)
        if result != 0:
            raise NodeError(f"MQTT subscribe to '{topic}' failed (client error {result})")
        session.wait(ctx, lambda: mid in session.acks, "subscribe")
        if any(getattr(code, "is_failure", False) for code in session.acks.pop(mid)):
            raise NodeError(f"the broker refused the subscription to '{topic}'")
    except (NodeError, ValueError) as exc:
        netio.fail_or_branch(ctx, "exec_error", str(exc))
        return
    ctx.activate("on_subscribed")
    for target in ctx.targets("on_subscribed"):
        yield [target]
    ctx.deactivate("on_subscribed")
    limit = ctx.egress.max_response_bytes

    def receive(seconds: float) -> netio.Message | bool | None:
        if session.disconnected.is_set():
            return False
        try:
            message_topic, payload = session.messages.get(timeout=seconds)
        except queue.Empty:
            return None
        if len(payload) > limit:
            ctx.log("Warn", f"dropped a message of {len(payload)} bytes on '{message_topic}' (limit {limit})")
            return None
        return payload, {"topic": message_topic}

    why = yield from netio.hold(ctx, session_ref["ref_id"], timeout, receive, parse_json=True)
    if session.dropped:
        ctx.log("Warn", f"{session.dropped} MQTT messages were dropped: more than {MAX_QUEUED} were waiting")
    ctx.log("Debug", f"MQTT subscription to '{topic}' ended ({why})")
    ctx.activate("on_close")


@register("mqtt_disconnect", "MQTT Disconnect", "Web/MQTT",
          "Disconnects an MQTT session; one already closed is left alone.",
          [inp("exec_in", "Execute", "Execution"), _SESSION, out("exec_out", "Done", "Execution")])
def mqtt_disconnect(ctx: NodeContext) -> None:
    ctx.deactivate("exec_out")
    netio.close_session(ctx, KIND, "MQTT")
    ctx.activate("exec_out")
