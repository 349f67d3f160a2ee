package orders.tenancy_test

import rego.v1

import data.orders.tenancy

reader := {
	"client_id": "app_reader",
	"scopes": ["orders:read"],
	"claims": {"tenant": "acme"},
}

request(method, tenant) := {"method": method, "path": sprintf("/tenants/%s/orders", [tenant]), "params": {"tenant": tenant}}

test_reader_reads_its_own_tenant if {
	d := tenancy.decision with input as {"principal": reader, "request": request("GET", "acme")}
	d.allow
	d.headers["x-tenant"] == "acme"
}

test_reader_cannot_write if {
	d := tenancy.decision with input as {"principal": reader, "request": request("POST", "acme")}
	not d.allow
}

test_other_tenant_is_not_found if {
	d := tenancy.decision with input as {"principal": reader, "request": request("GET", "globex")}
	not d.allow
	d.status == 404
}

writer := object.union(reader, {"client_id": "app_writer", "scopes": ["orders:write"]})

test_writers_write_but_do_not_delete if {
	w := tenancy.decision with input as {"principal": writer, "request": request("POST", "acme")}
	w.allow
	d := tenancy.decision with input as {"principal": writer, "request": request("DELETE", "acme")}
	not d.allow
}

test_admins_delete if {
	admin := object.union(writer, {"client_id": "app_admin"})
	d := tenancy.decision with input as {"principal": admin, "request": request("DELETE", "acme")}
	d.allow
}
