package bench.rbac_test

import data.bench.rbac

request(method, operation, tenant) := {
	"request": {"method": method, "path": "/tenants/acme/orders", "params": {"tenant": tenant}},
	"operation": operation,
}

caller(roles, scopes) := {"principal": {
	"scopes": scopes,
	"claims": {"sub": "u1", "tenant": "acme", "roles": roles},
}}

test_reader_role_may_list_orders if {
	d := rbac.decision with input as object.union(request("GET", "listOrders", "acme"), caller(["orders.reader"], []))
	d.allow
	d.headers["x-tenant"] == "acme"
}

test_reader_role_may_not_delete if {
	d := rbac.decision with input as object.union(request("DELETE", "deleteOrder", "acme"), caller(["orders.reader"], []))
	not d.allow
	d.reason == "no role grants this operation"
}

test_a_grant_is_for_its_method_only if {
	d := rbac.decision with input as object.union(request("POST", "listOrders", "acme"), caller(["orders.reader"], ["orders:read"]))
	not d.allow
	d.reason == "no role grants this operation"
}

test_unknown_scope_grants_nothing if {
	d := rbac.decision with input as object.union(request("GET", "listOrders", "acme"), caller(["support"], ["profile"]))
	not d.allow
}

test_write_scope_grants_writer_role if {
	d := rbac.decision with input as object.union(request("POST", "createOrder", "acme"), caller([], ["orders:write"]))
	d.allow
}

test_admin_may_delete if {
	d := rbac.decision with input as object.union(request("DELETE", "deleteOrder", "acme"), caller(["orders.admin"], []))
	d.allow
}

test_other_tenant_is_refused_even_for_admin if {
	d := rbac.decision with input as object.union(request("GET", "listOrders", "globex"), caller(["orders.admin", "orders.reader"], []))
	not d.allow
	d.reason == "tenant mismatch"
	d.status == 403
}

test_caller_without_roles_is_denied if {
	d := rbac.decision with input as object.union(request("GET", "listOrders", "acme"), caller([], []))
	not d.allow
}
