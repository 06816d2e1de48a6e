"""A kafka-python 2.0.2 group consumer: reads up to COUNT records, commits synchronously, leaves.

Usage: kafka_python_group.py BOOTSTRAP TOPIC GROUP COUNT
Prints the records it read as JSON lines [partition, offset, value] on stdout.
"""
import json
import sys

from kafka import KafkaConsumer

bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
consumer = KafkaConsumer(
    topic,
    bootstrap_servers=bootstrap,
    group_id=group,
    client_id="kafka-python-group",
    enable_auto_commit=False,
    auto_offset_reset="earliest",
    consumer_timeout_ms=5000,
    session_timeout_ms=10000,
    heartbeat_interval_ms=1000,
)
read = []
for message in consumer:
    read.append([message.partition, message.offset, message.value.decode("utf-8")])
    if len(read) >= count:
        break
consumer.commit()
consumer.close()
for record in read:
    print(json.dumps(record))
