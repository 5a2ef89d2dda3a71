// check.mjs - the official OpenAI and Anthropic SDKs against sluice-mock.
// Usage: node check.mjs BASE_URL   (e.g. http://127.0.0.1:40000)
// Proves the mock's JSON and event streams are what the SDK parsers accept,
// so tests built on the mock (and later on sluice relaying it) mean something.
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const base = process.argv[2];
if (!base) {
  console.error('usage: node check.mjs BASE_URL');
  process.exit(2);
}

const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${base}/v1`, maxRetries: 0 });
const anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: base, maxRetries: 0 });
const messages = [{ role: 'user', content: 'Say hello to the load balancer.' }];

const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}

check('openai chat.completions.create', async () => {
  const r = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 5 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, 'gpt-4o-mini');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, 'Hello The quick brown fox');
  assert.equal(r.usage.completion_tokens, 5);
  assert.ok(r.usage.prompt_tokens > 0);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 5);
});

check('openai chat.completions.create stream with include_usage', async () => {
  const stream = await openai.chat.completions.create({
    model: 'gpt-4o-mini', messages, max_tokens: 6, stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let usage = null;
  let finish = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.choices.length > 0) {
      text += chunk.choices[0].delta.content ?? '';
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, 'Hello The quick brown fox jumps');
  assert.equal(finish, 'stop');
  assert.equal(chunks, 1 + 6 + 1 + 1);
  assert.ok(usage, 'final usage chunk');
  assert.equal(usage.completion_tokens, 6);
  assert.equal(usage.total_tokens, usage.prompt_tokens + 6);
});

check('openai chat.completions.stream helper', async () => {
  const stream = openai.chat.completions.stream({ model: 'gpt-4o', messages, max_tokens: 3 });
  const final = await stream.finalChatCompletion();
  assert.equal(final.choices[0].message.content, 'Hello The quick');
});

check('openai embeddings.create', async () => {
  const r = await openai.embeddings.create({
    model: 'text-embedding-3-small', input: ['alpha', 'beta', 'gamma'],
  });
  assert.equal(r.data.length, 3);
  r.data.forEach((item, i) => {
    assert.equal(item.index, i);
    assert.equal(item.embedding.length, 8);
    const norm = Math.sqrt(item.embedding.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-5, `unit vector (${norm})`);
  });
  assert.ok(r.usage.prompt_tokens > 0);
  const floats = await openai.embeddings.create({
    model: 'text-embedding-3-small', input: 'alpha', encoding_format: 'float',
  });
  floats.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - r.data[0].embedding[i]) < 1e-6));
});

check('openai models.list', async () => {
  const ids = [];
  for await (const m of openai.models.list()) ids.push(m.id);
  assert.ok(ids.includes('gpt-4o-mini'));
});

check('anthropic messages.create', async () => {
  const r = await anthropic.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 4, messages });
  assert.equal(r.type, 'message');
  assert.equal(r.role, 'assistant');
  assert.equal(r.model, 'claude-3-5-haiku-latest');
  assert.equal(r.content[0].type, 'text');
  assert.equal(r.content[0].text, 'Hello The quick brown');
  assert.equal(r.stop_reason, 'end_turn');
  assert.equal(r.usage.output_tokens, 4);
  assert.ok(r.usage.input_tokens > 0);
});

check('anthropic messages.stream', async () => {
  const stream = anthropic.messages.stream({ model: 'claude-3-5-haiku-latest', max_tokens: 5, messages });
  let streamed = '';
  stream.on('text', (t) => { streamed += t; });
  const final = await stream.finalMessage();
  assert.equal(streamed, 'Hello The quick brown fox');
  assert.equal(final.content[0].text, 'Hello The quick brown fox');
  assert.equal(final.stop_reason, 'end_turn');
  assert.equal(final.usage.output_tokens, 5);
  assert.ok(final.usage.input_tokens > 0);
});

check('anthropic messages.create stream: true', async () => {
  const stream = await anthropic.messages.create({
    model: 'claude-3-5-haiku-latest', max_tokens: 2, messages, stream: true,
  });
  const types = [];
  for await (const ev of stream) types.push(ev.type);
  assert.deepEqual(types, ['message_start', 'content_block_start', 'content_block_delta',
    'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
});

check('errors surface as SDK error classes', async () => {
  await assert.rejects(
    openai.chat.completions.create({ model: 'm', messages: 'not an array' }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400);
  await assert.rejects(
    anthropic.messages.create({ model: 'm', max_tokens: 0, messages }),
    (e) => e instanceof Anthropic.BadRequestError && e.error?.error?.type === 'invalid_request_error');
});

let failed = 0;
for (const { name, fn } of checks) {
  try {
    await fn();
    console.log(`ok     ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok ${name}\n  ${(e && e.stack) || e}`);
  }
}
console.log(`${checks.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
