# RBAC on token claims for the gateway benchmark (`SCENARIOS=policy bench/gateway_load.sh`),
# tested by gateway_rbac_test.rego (`gatehouse policy test bench/policies`).
#
# The shape of rbac.rego (roles from the `roles` claim and from scopes; each role grants
# operations; plus a check on the `tenant` claim), adapted so the *same* module can run with
# `"caching": "none"` and with `"caching": "per_caller"`: a decision cached per token sees no
# `input.request`, so nothing here reads it. Instead of rbac.rego's (method, operation) pairs a
# role grants operations (the route already fixes the method), and instead of comparing the
# `tenant` claim with a `{tenant}` path parameter, the claim must name a tenant the API serves.
package bench.gateway_rbac

# role -> the operations it grants.
grants := {
	"bench.reader": {"hello"},
	"bench.writer": {"hello", "update"},
	"bench.admin": {"hello", "update", "delete"},
}

# scope -> the role it implies.
scope_roles := {
	"bench:read": "bench.reader",
	"bench:write": "bench.writer",
}

# API -> the tenants it serves.
api_tenants := {
	"bench-policy": {"acme", "globex"},
	"bench-cached": {"acme", "globex"},
}

# One index per step (`tenants[...]`, not `api_tenants[api][...]`): see rbac.rego.
tenant_ok if {
	tenants := api_tenants[input.api.name]
	tenants[input.principal.claims.tenant]
}

operation_granted if {
	some role in input.principal.claims.roles
	operations := grants[role]
	operations[input.operation]
}

operation_granted if {
	some scope in input.principal.scopes
	operations := grants[scope_roles[scope]]
	operations[input.operation]
}

decision := {"allow": false, "reason": "tenant not served by this API", "status": 403} if {
	not tenant_ok
} else := {"allow": true, "headers": {"x-tenant": input.principal.claims.tenant}} if {
	operation_granted
} else := {"allow": false, "reason": "no role grants this operation", "status": 403}
