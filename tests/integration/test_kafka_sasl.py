"""The secured-cluster settings path on a real broker: SASL (PLAIN) credentials from the settings reach both
clients, librdkafka (topics, producer, status) and Faust (the workers), and a wrong password is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from pydantic import SecretStr

from servicepulse.config import DevstackSettings, Settings
from servicepulse.connectors.kafka import EventProducer, ensure_topics, wait_for_kafka
from servicepulse.devstack.broker import free_port
from servicepulse.devstack.kafka import ApacheKafkaBroker
from tests.factories.calls import day_of_calls
from tests.factories.pipeline import Backend, Pipeline

pytestmark = pytest.mark.integration

USER, PASSWORD = "servicepulse", "s3cret-for-tests"


@pytest.fixture
def sasl_broker(backend: Backend, tmp_path: Path) -> Iterator[ApacheKafkaBroker]:
    if backend.name != "apache-kafka":
        pytest.skip("SASL is checked on Apache Kafka (Tansu has no SASL listener here)")
    broker = ApacheKafkaBroker(free_port(), tmp_path / "kafka-sasl", DevstackSettings().kafka_cache_dir,
                               heap_mb=256, log_file=tmp_path / "kafka-sasl.log",
                               sasl_users={"admin": "admin-secret", USER: PASSWORD})
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def secured(settings: Settings, broker: ApacheKafkaBroker, password: str) -> Settings:
    kafka = settings.kafka.model_copy(update={
        "bootstrap": f"127.0.0.1:{broker.sasl_port}", "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN", "sasl_username": USER, "sasl_password": SecretStr(password),
    })
    return settings.model_copy(update={"kafka": kafka})


def test_sasl_credentials_reach_librdkafka_and_faust(pipeline: Pipeline, sasl_broker: ApacheKafkaBroker) -> None:
    with pytest.raises((KafkaException, TimeoutError)):
        wait_for_kafka(secured(pipeline.settings, sasl_broker, "wrong").kafka, timeout_s=5)
    settings = secured(pipeline.settings, sasl_broker, PASSWORD)
    assert ensure_topics(settings.kafka)  # librdkafka: admin over SASL
    producer = EventProducer(settings.kafka, pipeline.codec)
    events = day_of_calls()
    for event in events:
        producer.send(event)
    producer.flush()
    # Faust (aiokafka) with the same settings, from the environment as deployments give them.
    pipeline.start_worker(0, KAFKA_BOOTSTRAP=settings.kafka.bootstrap or "", KAFKA__SECURITY_PROTOCOL="SASL_PLAINTEXT",
                          KAFKA__SASL_MECHANISM="PLAIN", KAFKA__SASL_USERNAME=USER, KAFKA__SASL_PASSWORD=PASSWORD)
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM call_events") == len(events), timeout=120,
                      what="events consumed over SASL and stored")
