package bench.gateway_rbac_test

import data.bench.gateway_rbac

# What the gateway passes a policy cached per caller: no request, no time.
caller(api, operation, tenant, roles, scopes) := {
	"api": {"name": api, "audience": "https://bench.example"},
	"operation": operation,
	"principal": {
		"credential": "bearer",
		"scopes": scopes,
		"claims": {"sub": "c1", "tenant": tenant, "roles": roles},
	},
}

test_read_scope_may_say_hello if {
	d := gateway_rbac.decision with input as caller("bench-policy", "hello", "acme", [], ["bench:read"])
	d.allow
	d.headers["x-tenant"] == "acme"
}

test_reader_role_claim_may_say_hello if {
	d := gateway_rbac.decision with input as caller("bench-cached", "hello", "globex", ["bench.reader"], [])
	d.allow
}

test_reader_may_not_delete if {
	d := gateway_rbac.decision with input as caller("bench-policy", "delete", "acme", ["bench.reader", "support"], ["bench:read"])
	not d.allow
	d.reason == "no role grants this operation"
	d.status == 403
}

test_admin_may_delete if {
	d := gateway_rbac.decision with input as caller("bench-policy", "delete", "acme", ["bench.admin"], [])
	d.allow
}

test_unserved_tenant_is_refused_even_for_admin if {
	d := gateway_rbac.decision with input as caller("bench-policy", "hello", "initech", ["bench.admin"], ["bench:read"])
	not d.allow
	d.reason == "tenant not served by this API"
}

test_missing_tenant_claim_is_refused if {
	d := gateway_rbac.decision with input as {
		"api": {"name": "bench-policy"},
		"operation": "hello",
		"principal": {"scopes": ["bench:read"], "claims": {"sub": "c1"}},
	}
	not d.allow
	d.reason == "tenant not served by this API"
}

test_other_api_serves_no_tenant if {
	d := gateway_rbac.decision with input as caller("bench-jwt", "hello", "acme", [], ["bench:read"])
	not d.allow
}

test_caller_without_roles_is_denied if {
	d := gateway_rbac.decision with input as caller("bench-policy", "hello", "acme", [], [])
	not d.allow
	d.reason == "no role grants this operation"
}

test_claims_without_roles_still_use_scopes if {
	d := gateway_rbac.decision with input as {
		"api": {"name": "bench-policy"},
		"operation": "hello",
		"principal": {"scopes": ["bench:read"], "claims": {"tenant": "acme"}},
	}
	d.allow
}
