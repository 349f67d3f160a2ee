# RBAC on token claims, used by crates/policy/benches/decision.rs and tested by rbac_test.rego
# (`gatehouse policy test bench/policies`).
#
# A caller's roles come from its token's `roles` claim and from its scopes (through
# `scope_roles`). Each role grants (method, operation) pairs; every request must also stay within
# the caller's tenant: the `tenant` claim must equal the `{tenant}` path parameter.
package bench.rbac

# role -> the (method, operation) pairs it grants.
grants := {
	"orders.reader": [
		{"method": "GET", "operation": "listOrders"},
		{"method": "GET", "operation": "getOrder"},
	],
	"orders.writer": [
		{"method": "POST", "operation": "createOrder"},
		{"method": "PUT", "operation": "updateOrder"},
	],
	"orders.admin": [
		{"method": "DELETE", "operation": "deleteOrder"},
		{"method": "POST", "operation": "refundOrder"},
	],
}

# scope -> the role it implies.
scope_roles := {
	"orders:read": "orders.reader",
	"orders:write": "orders.writer",
}

roles contains role if {
	some role in input.principal.claims.roles
}

roles contains scope_roles[scope] if {
	some scope in input.principal.scopes
}

tenant_ok if {
	input.principal.claims.tenant == input.request.params.tenant
}

operation_granted if {
	some role in roles
	some grant in grants[role]
	grant.method == input.request.method
	grant.operation == input.operation
}

decision := {"allow": false, "reason": "tenant mismatch", "status": 403} if {
	not tenant_ok
} else := {"allow": true, "headers": {"x-tenant": input.request.params.tenant}} if {
	operation_granted
} else := {"allow": false, "reason": "no role grants this operation", "status": 403}
