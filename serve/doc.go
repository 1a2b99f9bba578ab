// Package serve is `nook serve`: the user's models and vault for every
// other program on the machine, behind identity-checked grants. It speaks
// three protocols over the same parts:
//
//   - the OpenAI API (openai.go): /v1/chat/completions (streamed or not,
//     tools, response_format), /v1/completions, /v1/embeddings, /v1/models;
//   - the Ollama API (ollama.go): /api/chat, /api/generate, /api/embed,
//     /api/embeddings, /api/tags, /api/show, /api/ps, /api/version;
//   - MCP (mcp.go): the tools search, ask, remember and list_sources, over
//     streamable HTTP at /mcp and over stdio (`nook mcp`).
//
// A request may ask for an answer from the vault (model "nook:rag", or the
// extension field {"nook": {"rag": true}}); the answer then carries its
// sources in {"nook": {"sources": […]}} (chat.go).
//
// Who may do what (grants.go, apps.go): an app is a program with a key
// (`nook apps add`), stored hashed in the vault ([Registry]); it is a
// ledger delegate whose scopes (chat, embed, vault:read,
// vault:read:tag/<t>, memory:write) are grants of type nook/app/<scope>,
// checked on every request through the ledger client's per-block cache, so
// a revocation takes effect on the next request. Keyless clients on the
// loopback interface get chat and embed only when the user opened them;
// the vault is never served without a grant. Bound to anything but
// loopback, every request needs a key.
//
// Entry points: [New] over a [Backend] (the small interfaces [Models],
// [Vault], [Grants] and [Apps], declared here and satisfied by
// serve/appbackend over the application layer), [Server.Serve],
// [Server.Handler], [Server.MCPServer]; [NewRegistry] for the app records.
//
// This package must not load models, open the vault or the ledger, or
// read the config: it gets them through its Backend. It never writes
// vault contents anywhere but the HTTP response of a caller allowed to read
// them.
package serve
