greet() { printf 'Hello from a zip, %s!' "$1"; }
