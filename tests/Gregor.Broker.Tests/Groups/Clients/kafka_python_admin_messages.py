#!/usr/bin/python3
"""Prints the error code and error message of every admin result kafka-python 2.0.2 gets back.

Usage: kafka_python_admin_messages.py <bootstrap> <topic>
One JSON line per result: [api, name, error_code, error_message]; a message that came over the
wire as null is printed as null, an empty string as "".
"""
import json
import sys

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic

bootstrap, topic = sys.argv[1], sys.argv[2]
admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="admin-messages", request_timeout_ms=20000)


def emit(api, name, code, message):
    print(json.dumps([api, name, code, message]), flush=True)


for (name, code, message) in admin.create_topics([NewTopic(topic, 1, 1)]).topic_errors:
    emit("CreateTopics", name, code, message)

for (name, code, message) in admin.create_partitions({topic: NewPartitions(3)}).topic_errors:
    emit("CreatePartitions", name, code, message)

for response in admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)]):
    for (code, message, _type, name, _entries) in response.resources:
        emit("DescribeConfigs", name, code, message)

response = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": "3600000"})])
for (code, message, _type, name) in response.resources:
    emit("AlterConfigs", name, code, message)

admin.close()
