"""Alert hygiene for team chat: digests per rule, company and day (`digest`), and their chat payloads rendered
from templates in Swedish or English (`formatters`, `templates/`)."""
