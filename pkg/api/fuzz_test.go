package api_test

import (
	"net/url"
	"testing"
)

// FuzzPutAction sends arbitrary names and bodies: a client mistake is a
// 4xx, never a 500 or a panic.
func FuzzPutAction(f *testing.F) {
	for _, s := range []struct{ name, body string }{
		{"a", `{"exec":{"kind":"nodejs:default","code":"x"}}`},
		{"a b", `{"exec":{"kind":"python:3.11","code":"UEsD"},"limits":{"timeout":1}}`},
		{"x", `{"exec":{"kind":"nodejs:20","code":1}}`},
		{"x", `{"exec":null,"parameters":[{"value":1}]}`},
		{"x", `{"annotations":{"a":1}}`},
		{"x", `{"version":"1.2.x"}`},
		{"x", `{"limits":{"instances":-1}}`},
		{"$", `[]`},
		{"x", `{"exec":{"kind":"sequence","components":["/a/b"]}}`},
	} {
		f.Add(s.name, s.body)
	}
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, name, body string) {
		for _, q := range []string{"", "?overwrite=true"} {
			r := do(t, h, "PUT", ns+"/actions/"+url.PathEscape(name)+q, guestAuth, body)
			if r.status >= 500 {
				t.Fatalf("PUT %q %q = %d %s", name, body, r.status, r.body)
			}
		}
	})
}

// FuzzInvokeAction sends arbitrary query strings and payloads.
func FuzzInvokeAction(f *testing.F) {
	for _, s := range []struct{ query, body string }{
		{"blocking=true", `{}`},
		{"blocking=true&result=true&timeout=10", `{"a":[1,2]}`},
		{"timeout=-1", ``},
		{"blocking=x", `null`},
		{"", `{"a":`},
	} {
		f.Add(s.query, s.body)
	}
	h := newHarness(f)
	do(f, h, "PUT", ns+"/actions/fz", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`)
	f.Fuzz(func(t *testing.T, query, body string) {
		req, err := newRequest("POST", h.url+ns+"/actions/fz?"+query, body)
		if err != nil {
			t.Skip("not a URL a client can send")
		}
		req.Header.Set("Authorization", guestAuth)
		req.Header.Set("Content-Type", "application/json")
		r := send(t, req)
		if r.status >= 500 {
			t.Fatalf("POST ?%s %q = %d %s", query, body, r.status, r.body)
		}
	})
}

// FuzzAPIs sends arbitrary createApi bodies and response types, then
// arbitrary paths under the namespace's API URL: a client mistake is a 4xx
// or createApi's own 502 {"error": ...}, never a 500 or a panic.
func FuzzAPIs(f *testing.F) {
	for _, s := range []struct{ body, responseType, path string }{
		{cliAPIDoc("/hello", "/world", "get", "w", ""), "json", "hello/world"},
		{cliAPIDoc("/shop", "/items/{id}", "put", "w", `,"secureKey":"k"`), "http", "shop/items/1"},
		{`{"apidoc":{"namespace":"_","swagger":{"basePath":"/b","info":{},"paths":{"/x":{"get":{"x-openwhisk":{"namespace":"_","action":"w","url":"h/w.svg"}}}}}}}`, "", "b/x"},
		{`{"apidoc":{"namespace":"_","swagger":"{\"basePath\":\"/{a}\",\"paths\":[]}"}}`, "text", "//"},
		{`{"apidoc":"\"x\""}`, "html", "%2F"},
	} {
		f.Add(s.body, s.responseType, s.path)
	}
	h := newHarness(f)
	do(f, h, "PUT", ns+"/actions/w", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"annotations":[{"key":"web-export","value":true}]}`)
	f.Fuzz(func(t *testing.T, body, responseType, path string) {
		r := do(t, h, "POST", createAPI+"?responsetype="+url.QueryEscape(responseType), guestAuth, body)
		if r.status == 502 {
			if m := r.json(t); m["error"] == nil {
				t.Fatalf("createApi %q = 502 without an error: %s", body, r.body)
			}
		} else if r.status >= 500 {
			t.Fatalf("createApi %q = %d %s", body, r.status, r.body)
		}
		req, err := newRequest("GET", h.url+"/api/"+guestUUID+"/"+path, "")
		if err != nil {
			t.Skip("not a URL a client can send")
		}
		if r := send(t, req); r.status >= 500 {
			t.Fatalf("GET %q = %d %s", path, r.status, r.body)
		}
	})
}
