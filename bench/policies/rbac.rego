# RBAC on token claims, used by crates/policy/benches/decision.rs and tested by rbac_test.rego
# (`gatehouse policy test bench/policies`).
#
# A caller's roles come from its token's `roles` claim and from its scopes (through
# `scope_roles`). Each role grants (method, operation) pairs; every request must also stay within
# the caller's tenant: the `tenant` claim must equal the `{tenant}` path parameter.
package bench.rbac

# role -> method -> the operations it grants. Sets, so a grant is a lookup, not a scan.
grants := {
	"orders.reader": {"GET": {"listOrders", "getOrder"}},
	"orders.writer": {"POST": {"createOrder"}, "PUT": {"updateOrder"}},
	"orders.admin": {"DELETE": {"deleteOrder"}, "POST": {"refundOrder"}},
}

# scope -> the role it implies.
scope_roles := {
	"orders:read": "orders.reader",
	"orders:write": "orders.writer",
}

tenant_ok if {
	input.principal.claims.tenant == input.request.params.tenant
}

# Granted by a role the token names, or by a role one of its scopes implies: lookups in `grants`,
# not a scan of it. Two bodies rather than a `roles` set built first: every rule regorus evaluates
# costs a few microseconds. One index per step (`by_method[...]`, not `grants[role][method][...]`):
# regorus 0.14 resolves `x[var][...]` through an internal error, which costs a backtrace capture
# under a process-wide lock in a binary whose anyhow has backtraces and RUST_BACKTRACE=1.
operation_granted if {
	some role in input.principal.claims.roles
	by_method := grants[role]
	operations := by_method[input.request.method]
	operations[input.operation]
}

operation_granted if {
	some scope in input.principal.scopes
	by_method := grants[scope_roles[scope]]
	operations := by_method[input.request.method]
	operations[input.operation]
}

decision := {"allow": false, "reason": "tenant mismatch", "status": 403} if {
	not tenant_ok
} else := {"allow": true, "headers": {"x-tenant": input.request.params.tenant}} if {
	operation_granted
} else := {"allow": false, "reason": "no role grants this operation", "status": 403}
