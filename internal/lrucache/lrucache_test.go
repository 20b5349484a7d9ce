package lrucache

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gregjones/httpcache"
)

var _ httpcache.Cache = (*Cache)(nil)

func value(n int) []byte { return []byte(strings.Repeat("x", n)) }

func keys(c *Cache, all ...string) []string {
	var in []string
	for _, k := range all {
		if _, ok := c.Get(k); ok {
			in = append(in, k)
		}
	}
	return in
}

func TestEvictsLeastRecentlyUsedWithinCapacity(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps func(c *Cache)
		want  []string // keys still cached, checked in this order
	}{
		{"past the cap the oldest goes", func(c *Cache) {
			for _, k := range []string{"a", "b", "c", "d"} {
				c.Set(k, value(29)) // 30 bytes each with the key
			}
		}, []string{"b", "c", "d"}},
		{"a hit refreshes recency", func(c *Cache) {
			c.Set("a", value(29))
			c.Set("b", value(29))
			c.Set("c", value(29))
			c.Get("a")
			c.Set("d", value(29))
		}, []string{"a", "c", "d"}},
		{"replacing a key counts it once", func(c *Cache) {
			c.Set("a", value(29))
			c.Set("a", value(59))
			c.Set("b", value(29))
		}, []string{"a", "b"}},
		{"one large entry evicts several", func(c *Cache) {
			c.Set("a", value(29))
			c.Set("b", value(29))
			c.Set("c", value(29))
			c.Set("d", value(79))
		}, []string{"d"}},
		{"an entry larger than the cache is not kept", func(c *Cache) {
			c.Set("a", value(29))
			c.Set("b", value(200))
		}, []string{"a"}},
		{"delete frees its bytes", func(c *Cache) {
			c.Set("a", value(29))
			c.Set("b", value(29))
			c.Set("c", value(29))
			c.Delete("a")
			c.Set("d", value(29))
		}, []string{"b", "c", "d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(100)
			tc.steps(c)
			if c.Size() > 100 {
				t.Errorf("cache holds %d bytes, cap 100", c.Size())
			}
			if got := keys(c, "a", "b", "c", "d"); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("cached %v, want %v", got, tc.want)
			}
		})
	}
}

func TestManyInsertsStayWithinCapacity(t *testing.T) {
	c := New(4 << 10)
	for i := range 10000 {
		c.Set(fmt.Sprintf("https://api.github.com/repos/acme/shop/contents/%d", i), value(i%700))
		if c.Size() > 4<<10 {
			t.Fatalf("after %d inserts the cache holds %d bytes, cap %d", i+1, c.Size(), 4<<10)
		}
	}
	if _, ok := c.Get("https://api.github.com/repos/acme/shop/contents/9999"); !ok {
		t.Error("the newest entry was evicted")
	}
}
