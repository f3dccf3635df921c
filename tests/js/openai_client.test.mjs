// The official openai npm client (a client no one here wrote) against the cortex gateway.
// Run by tests/integration/openai_client_test.cpp, which starts an engine and the gateway and
// passes their addresses:
//   CORTEX_GATEWAY_URL  http://127.0.0.1:PORT/v1
//   CORTEX_LANE         a lane to chat with
//   CORTEX_BUSY_LANE    a lane with max_concurrency 1 and no queue (for the 429)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const baseURL = process.env.CORTEX_GATEWAY_URL;
const lane = process.env.CORTEX_LANE;
const busyLane = process.env.CORTEX_BUSY_LANE;
// No retries: each status must reach the test as the gateway sent it.
const client = new OpenAI({ baseURL, apiKey: process.env.CORTEX_API_KEY ?? 'unused', maxRetries: 0 });
const messages = [{ role: 'user', content: 'Say something short.' }];

test('chat completion', async () => {
  const r = await client.chat.completions.create({ model: lane, messages, max_tokens: 8 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.ok(r.choices[0].message.content.length > 0);
  assert.ok(r.usage.prompt_tokens > 0);
  assert.ok(r.usage.completion_tokens > 0);
});

test('stream with usage', async () => {
  const stream = await client.chat.completions.create({
    model: lane, messages, max_tokens: 8, stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      text += choice.delta?.content ?? '';
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  assert.ok(text.length > 0);
  assert.ok(finish !== null);
  assert.ok(usage && usage.completion_tokens > 0);
});

test('stream without usage gets no usage chunk', async () => {
  const stream = await client.chat.completions.create({ model: lane, messages, max_tokens: 4, stream: true });
  for await (const chunk of stream) {
    assert.ok(chunk.choices.length > 0, 'the usage chunk the gateway asked for must not reach the client');
  }
});

test('an unknown lane is a NotFoundError naming the lanes', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'no-such-lane', messages }),
    (e) => e instanceof OpenAI.NotFoundError && /no lane named "no-such-lane"/.test(e.message) &&
      e.code === 'model_not_found',
  );
});

test('a full lane is a RateLimitError with Retry-After', async () => {
  const controller = new AbortController();
  const hold = await client.chat.completions.create(
    { model: busyLane, messages, max_tokens: 500, stream: true }, { signal: controller.signal });
  const it = hold[Symbol.asyncIterator]();
  await it.next();  // the only slot is taken
  try {
    await assert.rejects(
      client.chat.completions.create({ model: busyLane, messages, max_tokens: 4 }),
      (e) => e instanceof OpenAI.RateLimitError && e.headers['retry-after'] === '1' &&
        e.code === 'queue_full',
    );
  } finally {
    controller.abort();
  }
});
