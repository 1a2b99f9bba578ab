// Package plugins hosts MCP servers as tools and data plugs, every call gated
// by a ledger grant. It must not reach the vault except through granted scopes.
package plugins
