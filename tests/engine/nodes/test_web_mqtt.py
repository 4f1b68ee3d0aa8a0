"""MQTT nodes against the Mosquitto broker on 127.0.0.1:1883 (a unique topic per test)."""

from __future__ import annotations

import socket
import threading
import uuid

import paho.mqtt.client as paho
import pytest

from boardrun.engine import EgressPolicy, RunLimits
from engine_testkit import BoardBuilder

LOCAL = EgressPolicy(allow_private=True)
BROKER = ("127.0.0.1", 1883)


def _broker_up() -> bool:
    try:
        socket.create_connection(BROKER, timeout=1).close()
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _broker_up(), reason="no MQTT broker on 127.0.0.1:1883")


@pytest.fixture
def topic():
    return f"boardrun-test/{uuid.uuid4().hex}"


@pytest.fixture
def listener(topic):
    """A plain paho subscriber on the test's topic, subscribed before the test body runs."""
    received: list[paho.MQTTMessage] = []
    arrived = threading.Condition()
    subscribed = threading.Event()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2)

    def on_message(_c, _u, message):
        with arrived:
            received.append(message)
            arrived.notify_all()

    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe(f"{topic}/#", qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect(*BROKER)
    client.loop_start()
    assert subscribed.wait(5)

    def wait_for(count: int) -> list[paho.MQTTMessage]:
        with arrived:
            arrived.wait_for(lambda: len(received) >= count, timeout=5)
        return received

    yield wait_for
    client.disconnect()
    client.loop_stop()


def config(**extra):
    return {"host": "127.0.0.1", "port": 1883, "client_id": f"boardrun-{uuid.uuid4().hex[:8]}", **extra}


def chain(b: BoardBuilder, connect: str, first_pin: str, names: list[tuple[str, dict]]):
    previous, pin = connect, first_pin
    ids = []
    for name, defaults in names:
        node = b.add(name, **defaults)
        b.connect(connect, "session", node, "session")
        b.connect(previous, pin, node, "exec_in")
        previous, pin = node, "exec_out"
        ids.append(node)
    return ids


def test_publish_reaches_a_subscriber_with_each_qos(topic, listener):
    """Messages published with QoS 0, 1 and 2 arrive with their topics and payloads."""
    b = BoardBuilder()
    start = b.add("events_simple")
    connect = b.add("mqtt_connect", config=config())
    b.connect(start, "exec_out", connect, "exec_in")
    chain(b, connect, "exec_out", [
        ("mqtt_publish", {"topic": f"{topic}/a", "payload": "zero", "qos": "AtMostOnce"}),
        ("mqtt_publish", {"topic": f"{topic}/b", "payload": "ein€", "qos": "AtLeastOnce"}),
        ("mqtt_publish", {"topic": f"{topic}/c", "payload": "two", "qos": "ExactlyOnce"}),
        ("mqtt_disconnect", {}),
    ])
    result = b.run(start, egress=LOCAL)
    assert result.status == "completed", result.error
    messages = listener(3)
    assert sorted((m.topic, m.payload.decode()) for m in messages) == [
        (f"{topic}/a", "zero"), (f"{topic}/b", "ein€"), (f"{topic}/c", "two")]


def test_subscribe_runs_on_subscribed_then_on_close_after_disconnect(topic, listener):
    """On Subscribed runs once the broker granted it; a disconnect inside it ends the hold and On Close runs."""
    b = BoardBuilder()
    start = b.add("events_simple")
    connect = b.add("mqtt_connect", config=config())
    b.connect(start, "exec_out", connect, "exec_in")
    (subscribe,) = chain(b, connect, "exec_out", [("mqtt_subscribe", {"topic": f"{topic}/#", "qos": "AtLeastOnce"})])
    publish, disconnect = (b.add("mqtt_publish", topic=f"{topic}/x", payload="during"), b.add("mqtt_disconnect"))
    for node in (publish, disconnect):
        b.connect(connect, "session", node, "session")
    b.connect(subscribe, "on_subscribed", publish, "exec_in")
    b.connect(publish, "exec_out", disconnect, "exec_in")
    done = b.add("events_generic_return_result", response="closed")
    b.connect(subscribe, "on_close", done, "exec_in")
    result = b.run(start, egress=LOCAL, limits=RunLimits(deadline_seconds=30))
    assert (result.status, result.result) == ("completed", "closed")
    assert [m.payload for m in listener(1)] == [b"during"]


def test_subscribe_timeout_ends_the_hold_and_the_run_closes_the_session(topic):
    """timeout_seconds ends the subscription; the session left open is closed by the run's registry."""
    b = BoardBuilder()
    start = b.add("events_simple")
    connect = b.add("mqtt_connect", config=config())
    b.connect(start, "exec_out", connect, "exec_in")
    (subscribe,) = chain(b, connect, "exec_out", [("mqtt_subscribe", {"topic": topic, "timeout_seconds": 1})])
    done = b.add("events_generic_return_result", response="closed")
    b.connect(subscribe, "on_close", done, "exec_in")
    before = threading.active_count()
    result = b.run(start, egress=LOCAL)
    assert result.result == "closed"
    assert threading.active_count() <= before  # paho's network thread was stopped with the run


def test_failing_run_stops_the_client_thread(topic):
    """A run that fails after MQTT Connect still stops paho's network loop thread and disconnects."""
    b = BoardBuilder()
    start = b.add("events_simple")
    connect = b.add("mqtt_connect", config=config())
    b.connect(start, "exec_out", connect, "exec_in")
    chain(b, connect, "exec_out", [("mqtt_publish", {"topic": f"{topic}/+", "payload": "x"})])
    before = threading.active_count()
    result = b.run(start, egress=LOCAL)
    assert (result.reason, result.error["node_name"]) == ("node_error", "mqtt_publish")
    assert "wildcards" in result.error["message"]
    assert threading.active_count() <= before


def test_unreachable_broker_takes_the_error_branch_or_fails():
    """A refused connection runs Error when wired; otherwise MQTT Connect fails."""
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    b = BoardBuilder()
    start = b.add("events_simple")
    connect = b.add("mqtt_connect", config=config(port=port))
    b.connect(start, "exec_out", connect, "exec_in")
    result = b.run(start, egress=LOCAL)
    assert result.error["node_name"] == "mqtt_connect" and "could not connect" in result.error["message"]
    ret = b.add("events_generic_return_result", response="error")
    b.connect(connect, "exec_error", ret, "exec_in")
    assert b.run(start, egress=LOCAL).result == "error"


@pytest.mark.parametrize("cfg, message", [
    ({"host": "127.0.0.1", "port": 1883}, "needs a 'client_id'"),
    (config(port="1883"), "wrong type"),
    (config(keep_alive_seconds=0), "keep_alive_seconds"),
    (config(use_tls="yes"), "wrong type"),
])
def test_bad_configs_fail(cfg, message):
    """Malformed MQTT configs fail the connect node naming the field."""
    b = BoardBuilder()
    start = b.add("events_simple")
    connect = b.add("mqtt_connect", config=cfg)
    b.connect(start, "exec_out", connect, "exec_in")
    result = b.run(start, egress=LOCAL)
    assert result.reason == "node_error" and message in result.error["message"]


def test_default_policy_refuses_the_local_broker_and_qos_is_checked(topic):
    """Loopback brokers need allow_private; an unknown QoS fails the publish."""
    b = BoardBuilder()
    start = b.add("events_simple")
    connect = b.add("mqtt_connect", config=config())
    b.connect(start, "exec_out", connect, "exec_in")
    assert "egress refused" in b.run(start).error["message"]
    chain(b, connect, "exec_out", [("mqtt_publish", {"topic": topic, "payload": "x", "qos": "Sometimes"})])
    assert "must be one of" in b.run(start, egress=LOCAL).error["message"]


def test_messages_reach_the_referenced_function(topic):
    """A message on the subscribed topic reaches the function: JSON payload parsed, topic filled in."""
    b = BoardBuilder()
    start = b.add("events_simple")
    connect = b.add("mqtt_connect", config=config())
    b.connect(start, "exec_out", connect, "exec_in")
    (subscribe,) = chain(b, connect, "exec_out", [("mqtt_subscribe", {"topic": f"{topic}/#", "qos": "AtLeastOnce"})])
    publish = b.add("mqtt_publish", topic=f"{topic}/json", payload='{"temperature": 21.5}', qos="AtLeastOnce")
    b.connect(connect, "session", publish, "session")
    b.connect(subscribe, "on_subscribed", publish, "exec_in")
    handler = b.add("events_generic")
    b.add_pin(handler, "topic", "Output", "String")
    b.reference_function(subscribe, handler)
    disconnect = b.add("mqtt_disconnect")
    b.connect(connect, "session", disconnect, "session")
    with_payload = b.add("struct_set", struct_in={}, field="payload")
    with_topic = b.add("struct_set", field="topic")
    b.chain(handler, disconnect, with_payload, with_topic)
    b.connect(handler, "payload", with_payload, "value")
    b.connect(with_payload, "struct_out", with_topic, "struct_in")
    b.connect(handler, "topic", with_topic, "value")
    ret = b.add("events_generic_return_result")
    b.connect(with_topic, "exec_out", ret, "exec_in")
    b.connect(with_topic, "struct_out", ret, "response")
    result = b.run(start, egress=LOCAL, limits=RunLimits(deadline_seconds=30))
    assert result.status == "completed", result.error
    assert result.result == {"payload": {"temperature": 21.5}, "topic": f"{topic}/json"}
