// Package smoke holds the end-to-end smoke test of the real broker: produce,
// consume in a group, check offsets through the admin API and through kcat,
// an independent client.
package smoke
