module github.com/mkportable/mkportable

go 1.24.0

require (
	github.com/klauspost/compress v1.18.2
	github.com/nix-community/go-nix v0.0.0-20250101154619-4bdde671e0a1
	github.com/pierrec/lz4/v4 v4.1.22
	github.com/stretchr/testify v1.11.1
	github.com/ulikunitz/xz v0.5.15
	golang.org/x/sys v0.31.0
	golang.org/x/term v0.30.0
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
