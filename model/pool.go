package model

import "sync"

// A ranger is work split over an index range; the session's job structs
// implement it, so handing work to the pool allocates nothing.
type ranger interface {
	run(part, lo, hi int)
}

type poolTask struct {
	r      ranger
	part   int
	lo, hi int
}

// A pool runs a ranger over [0, n) on a session's goroutines: the calling
// goroutine takes the first part, each worker one more.
type pool struct {
	workers int
	solo    bool // run every part on the calling goroutine (a background request)
	tasks   chan poolTask
	wg      sync.WaitGroup
	once    sync.Once // close runs from Close or from the session's cleanup
}

func newPool(threads int) *pool {
	if threads < 1 {
		threads = 1
	}
	p := &pool{workers: threads - 1, tasks: make(chan poolTask, threads)}
	for range p.workers {
		go func() {
			for t := range p.tasks {
				t.r.run(t.part, t.lo, t.hi)
				p.wg.Done()
			}
		}()
	}
	return p
}

// parallel runs r over [0, n) in at most workers+1 numbered parts that are multiples of align (except
// the last), and returns when all are done.
func (p *pool) parallel(n, align int, r ranger) {
	parts := p.workers + 1
	if p.solo {
		parts = 1
	}
	if align < 1 {
		align = 1
	}
	units := (n + align - 1) / align
	if parts > units {
		parts = units
	}
	if parts <= 1 {
		r.run(0, 0, n)
		return
	}
	per := (units + parts - 1) / parts
	p.wg.Add(parts - 1)
	for i := 1; i < parts; i++ {
		lo := min(i*per*align, n)
		hi := min((i+1)*per*align, n)
		p.tasks <- poolTask{r, i, lo, hi}
	}
	r.run(0, 0, min(per*align, n))
	p.wg.Wait()
}

func (p *pool) close() {
	p.once.Do(func() { close(p.tasks) })
}
