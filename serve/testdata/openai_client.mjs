// Drives nook serve with the official `openai` npm package (installed by
// .ci/setup-clients). Run by serve's Go tests:
//   node openai_client.mjs SCENARIO
// with OPENAI_MODULE (the package folder), NOOK_BASE_URL (http://HOST:PORT/v1),
// NOOK_KEY ("none" for a keyless client) and MODEL. Prints one JSON object.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const OpenAI = require(process.env.OPENAI_MODULE);
const client = new OpenAI({ apiKey: process.env.NOOK_KEY || 'none', baseURL: process.env.NOOK_BASE_URL, maxRetries: 0, timeout: 120000 });
const model = process.env.MODEL;
const messages = [{ role: 'user', content: 'Once upon a time' }];

function failure(err) {
  if (err instanceof OpenAI.APIError) {
    return { status: err.status ?? null, type: err.type ?? null, code: err.code ?? null, param: err.param ?? null, message: err.message, class: err.constructor.name };
  }
  return { message: String(err), class: err?.constructor?.name };
}

async function collect(stream) {
  let text = '', finish = null, chunks = 0, nook = null, usage = null;
  const calls = {};
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    if (chunk.nook) nook = chunk.nook;
    for (const c of chunk.choices) {
      text += c.delta?.content ?? '';
      for (const tc of c.delta?.tool_calls ?? []) {
        const cur = calls[tc.index] ?? (calls[tc.index] = { id: tc.id, name: '', arguments: '' });
        if (tc.function?.name) cur.name += tc.function.name;
        if (tc.function?.arguments) cur.arguments += tc.function.arguments;
      }
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  return { text, finish, chunks, nook, usage, calls: Object.values(calls) };
}

const scenarios = {
  async chat() {
    const models = (await client.models.list()).data.map((m) => m.id);
    const opts = { model, messages, temperature: 0, seed: 1, max_tokens: 24 };
    const plain = await client.chat.completions.create(opts);
    const streamed = await collect(await client.chat.completions.create({ ...opts, stream: true, stream_options: { include_usage: true } }));
    return {
      models,
      object: plain.object,
      text: plain.choices[0].message.content,
      role: plain.choices[0].message.role,
      finish: plain.choices[0].finish_reason,
      usage: plain.usage,
      streamText: streamed.text,
      streamFinish: streamed.finish,
      streamChunks: streamed.chunks,
      streamUsage: streamed.usage,
    };
  },
  async tools() {
    const tools = [{
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'The weather in a city.',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    }];
    const first = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'What is the weather in Paris?' }], tools, tool_choice: 'required', temperature: 0, max_tokens: 200 });
    const msg = first.choices[0].message;
    const call = msg.tool_calls?.[0];
    const streamed = await collect(await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Weather in Oslo?' }], tools, tool_choice: { type: 'function', function: { name: 'get_weather' } }, temperature: 0, max_tokens: 200, stream: true }));
    const second = await client.chat.completions.create({
      model, temperature: 0, max_tokens: 16, tools,
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        msg,
        { role: 'tool', tool_call_id: call.id, content: '{"sky": "sunny", "celsius": 21}' },
      ],
    });
    return {
      finish: first.choices[0].finish_reason,
      name: call.function.name,
      id: call.id,
      args: JSON.parse(call.function.arguments),
      streamFinish: streamed.finish,
      streamCalls: streamed.calls.map((c) => ({ name: c.name, args: JSON.parse(c.arguments) })),
      afterResult: { finish: second.choices[0].finish_reason, hasText: typeof second.choices[0].message.content === 'string' },
    };
  },
  async embed() {
    const res = await client.embeddings.create({ model, input: ['the cat sat', 'a dog ran'] });
    const b64 = await client.embeddings.create({ model, input: 'the cat sat', encoding_format: 'base64' });
    const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    // Asked for explicitly, base64 comes back as the server sent it.
    const raw = Buffer.from(b64.data[0].embedding, 'base64');
    const decoded = Array.from(new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4));
    return {
      n: res.data.length,
      dims: res.data.map((d) => d.embedding.length),
      norms: res.data.map((d) => norm(d.embedding)),
      same: decoded.length === res.data[0].embedding.length && res.data[0].embedding.every((x, i) => Math.abs(x - decoded[i]) < 1e-6),
      promptTokens: res.usage.prompt_tokens,
    };
  },
  async json() {
    const schema = { type: 'object', properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer', minimum: 0, maximum: 150 } }, required: ['name', 'age'] };
    const res = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 100, response_format: { type: 'json_schema', json_schema: { name: 'person', schema } } });
    const text = res.choices[0].message.content;
    let parsed = null;
    try { parsed = JSON.parse(text); } catch { /* reported below */ }
    return { text, parsed, finish: res.choices[0].finish_reason };
  },
  async rag() {
    const plain = await client.chat.completions.create({ model: 'nook:rag', messages: [{ role: 'user', content: 'When is the dentist appointment?' }], temperature: 0, max_tokens: 16 });
    const streamed = await collect(await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'When is the dentist appointment?' }], temperature: 0, max_tokens: 16, stream: true, nook: { rag: true } }));
    return { text: plain.choices[0].message.content, sources: plain.nook?.sources ?? null, streamSources: streamed.nook?.sources ?? null };
  },
  async errors() {
    const out = {};
    const attempt = async (name, f) => {
      try { await f(); out[name] = { ok: true }; } catch (err) { out[name] = failure(err); }
    };
    await attempt('unknownModel', () => client.chat.completions.create({ model: 'no-such-model', messages }));
    await attempt('noMessages', () => client.chat.completions.create({ model, messages: [] }));
    await attempt('badRole', () => client.chat.completions.create({ model, messages: [{ role: 'wizard', content: 'hi' }] }));
    await attempt('twoChoices', () => client.chat.completions.create({ model, messages, n: 2 }));
    await attempt('ragNoGrant', () => client.chat.completions.create({ model: 'nook:rag', messages }));
    await attempt('embedUnknown', () => client.embeddings.create({ model: 'no-such-model', input: 'x' }));
    return out;
  },
};

const name = process.argv[2];
try {
  const result = await scenarios[name]();
  process.stdout.write(JSON.stringify(result) + '\n');
} catch (err) {
  process.stdout.write(JSON.stringify({ fatal: failure(err), stack: String(err?.stack ?? '') }) + '\n');
  process.exitCode = 1;
}
