"""Allowed values and validation limits (seed 001's rules, sized for today's models)."""

from __future__ import annotations

ROLES = ("system", "user", "assistant", "tool")
MESSAGE_STATUSES = ("pending", "streaming", "done", "error", "cancelled", "interrupted")
#: Statuses after which a message's text no longer changes by streaming.
FINAL_MESSAGE_STATUSES = ("done", "error", "cancelled", "interrupted")
CONTENT_TYPES = ("text", "markdown", "code", "image", "file", "tool_call", "tool_result", "mixed")
PART_TYPES = ("text", "image", "code", "file", "tool_call", "tool_result", "reasoning")
CONVERSATION_STATUSES = ("active", "archived", "deleted")
CONTEXT_STRATEGIES = ("truncate", "summarize", "manual")
ATTACHMENT_STATUSES = ("uploading", "processing", "ready", "error")
TOOL_STATUSES = ("pending", "approved", "denied", "executing", "completed", "failed", "cancelled")
RISK_LEVELS = ("read_only", "low", "medium", "high")
RULE_ACTIONS = ("allow", "ask", "deny")
RULE_SCOPES = ("conversation", "project", "global")
RULE_SOURCES = ("user", "prompt", "cli", "config", "import", "audit")
OPTIMIZATION_TRIGGERS = ("token_limit", "user_request", "auto")
OPTIMIZATION_TYPES = ("truncation", "summarization", "compression")
PROVIDER_KINDS = ("openai", "anthropic", "openai-compatible")
USAGE_OPERATIONS = ("chat", "title", "summary", "tool")
BUDGET_PERIODS = ("day", "month")
SHARE_PERMISSIONS = ("read", "write", "share")
INTEGRATION_KINDS = ("mcp-stdio", "mcp-http", "other")
INTEGRATION_STATUSES = ("active", "expired", "revoked", "error", "disabled")

# Limits. Seed 001 caps titles at 200 and system prompts at 2,000 characters, output at
# 32,000 tokens and content at 100,000 characters; today's models need more.
MAX_TITLE_LENGTH = 200
MAX_TAG_LENGTH = 50
MAX_TAGS_PER_CONVERSATION = 20
MAX_SYSTEM_PROMPT_LENGTH = 200_000
MAX_MESSAGE_LENGTH = 10_000_000
MAX_OUTPUT_TOKENS = 1_000_000
MAX_CONTEXT_WINDOW = 10_000_000
MAX_FILE_NAME_LENGTH = 255
MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024
MAX_THREAD_DEPTH = 100_000
TEMPERATURE_RANGE = (0.0, 2.0)
TOP_P_RANGE = (0.0, 1.0)
PENALTY_RANGE = (-2.0, 2.0)
