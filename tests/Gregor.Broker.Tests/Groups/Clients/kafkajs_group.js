// A kafkajs 2.2.4 group consumer: reads up to COUNT records, commits each one it processed, leaves.
// Usage: node kafkajs_group.js BOOTSTRAP TOPIC GROUP COUNT
// Prints the records it read as JSON lines [partition, offset, value] on stdout.
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, topic, group, countText] = process.argv.slice(2);
const count = Number(countText);
const kafka = new Kafka({ clientId: 'kafkajs-group', brokers: [bootstrap], logLevel: logLevel.ERROR });
const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10000, heartbeatInterval: 1000 });
const read = [];
let idleTimer;

async function finish() {
  clearTimeout(idleTimer);
  await consumer.disconnect();
  for (const record of read) {
    console.log(JSON.stringify(record));
  }
  process.exit(0);
}

function armIdleTimer() {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => { finish().catch(fail); }, 5000);
}

function fail(error) {
  console.error(error);
  process.exit(1);
}

async function main() {
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  armIdleTimer();
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      if (read.length >= count) {
        return;
      }
      read.push([partition, Number(message.offset), message.value.toString()]);
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      armIdleTimer();
      if (read.length >= count) {
        setImmediate(() => { finish().catch(fail); });
      }
    },
  });
}

main().catch(fail);
