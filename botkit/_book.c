/* One side of an L2 book delta, applied in C (botkit/book.py, OrderBook.apply_delta).
 *
 * The same steps as book.py's _apply_side_py, on the same objects: the side's
 * levels dict (price -> size), its heap of prices (heapq's invariant; bids
 * negated) and its best price. Only the loop over the rows moves to C: each row
 * costs two dict operations here against ~0.25 us of interpreted code, and a
 * capture's deltas are tens of rows each. Finding the next best after the touch
 * is removed pops the heap's stale entries here too (heapq's algorithm, so the
 * heap stays entry for entry what book.py's Python twin leaves); only the rare
 * rebuild of a mostly stale heap calls back into Python (next_best).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* a < b for heap entries and prices: doubles compared directly when both are floats
 * (the catalog's and the feeds' case), Python's < otherwise. -1 on error. */
static inline int
less_than(PyObject *a, PyObject *b)
{
    if (PyFloat_CheckExact(a) && PyFloat_CheckExact(b)) {
        return PyFloat_AS_DOUBLE(a) < PyFloat_AS_DOUBLE(b);
    }
    return PyObject_RichCompareBool(a, b, Py_LT);
}

/* The item at pos rises past every parent it is less than (heapq's _siftdown from
 * 0). Swaps keep each reference owned by the list. */
static int
sift_to_root(PyObject *heap, Py_ssize_t pos, PyObject *item)
{
    while (pos > 0) {
        Py_ssize_t parentpos = (pos - 1) >> 1;
        PyObject *parent = PyList_GET_ITEM(heap, parentpos);
        int lt = less_than(item, parent);
        if (lt < 0) {
            return -1;
        }
        if (!lt) {
            break;
        }
        PyList_SET_ITEM(heap, pos, parent);
        PyList_SET_ITEM(heap, parentpos, item);
        pos = parentpos;
    }
    return 0;
}

/* heapq.heappush: append, then rise, so the list stays a heap that heapq's own
 * functions and book.py's code read as before. */
static int
heap_push(PyObject *heap, PyObject *item)
{
    if (PyList_Append(heap, item) < 0) {
        return -1;
    }
    return sift_to_root(heap, PyList_GET_SIZE(heap) - 1, item);
}

/* heapq.heappop, discarding the item: the last entry replaces the root, sinks to a
 * leaf along the smaller children, then rises to its place (heapq's _siftup), so
 * the list is entry for entry what heapq would leave. */
static int
heap_pop(PyObject *heap)
{
    Py_ssize_t n = PyList_GET_SIZE(heap);
    if (n == 0) {
        return 0;
    }
    PyObject *last = Py_NewRef(PyList_GET_ITEM(heap, n - 1));
    if (PyList_SetSlice(heap, n - 1, n, NULL) < 0) {
        Py_DECREF(last);
        return -1;
    }
    n -= 1;
    if (n == 0) {
        Py_DECREF(last);
        return 0;
    }
    /* the root goes; last takes its slot (the list's reference to the root is dropped) */
    PyObject *root = PyList_GET_ITEM(heap, 0);
    PyList_SET_ITEM(heap, 0, last);
    Py_DECREF(root);
    Py_ssize_t pos = 0;
    Py_ssize_t child = 1;
    while (child < n) {
        Py_ssize_t right = child + 1;
        if (right < n) {
            int lt = less_than(PyList_GET_ITEM(heap, child), PyList_GET_ITEM(heap, right));
            if (lt < 0) {
                return -1;
            }
            if (!lt) {
                child = right;
            }
        }
        PyList_SET_ITEM(heap, pos, PyList_GET_ITEM(heap, child));
        PyList_SET_ITEM(heap, child, last);
        pos = child;
        child = 2 * pos + 1;
    }
    return sift_to_root(heap, pos, last);
}

/* The side's best after its touch was removed: book.py's _next_best. Stale heap
 * entries are popped here; the rare rebuild of a heap that is mostly stale is left
 * to the Python function (next_best), which then finishes the search itself. */
static PyObject *
find_next_best(PyObject *levels, PyObject *heap, int is_bid, PyObject *next_best)
{
    if (PyList_GET_SIZE(heap) > 2 * PyDict_GET_SIZE(levels) + 64) {
        return PyObject_CallFunctionObjArgs(next_best, levels, heap, is_bid ? Py_True : Py_False,
                                            NULL);
    }
    while (PyList_GET_SIZE(heap) > 0) {
        PyObject *top = PyList_GET_ITEM(heap, 0);
        PyObject *p = is_bid ? PyNumber_Negative(top) : Py_NewRef(top);
        if (p == NULL) {
            return NULL;
        }
        int has = PyDict_Contains(levels, p);
        if (has != 0) {
            if (has < 0) {
                Py_CLEAR(p);
            }
            return p;
        }
        Py_DECREF(p);
        if (heap_pop(heap) < 0) {
            return NULL;
        }
    }
    Py_RETURN_NONE;
}

/* apply_side(levels, heap, rows, best, is_bid, next_best) -> best
 *
 * For each (price, size) row: a positive size sets the level (a new price is
 * pushed on the heap, negated for bids, and may become the best); otherwise the
 * level is removed, and if it was the best, next_best(levels, heap, is_bid) finds
 * the new one. Returns the side's best price (None for an empty side). */
static PyObject *
apply_side(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError,
                        "apply_side(levels, heap, rows, best, is_bid, next_best) takes 6 arguments");
        return NULL;
    }
    PyObject *levels = args[0], *heap = args[1], *rows = args[2];
    PyObject *next_best = args[5];
    if (!PyDict_CheckExact(levels) || !PyList_CheckExact(heap)) {
        PyErr_SetString(PyExc_TypeError, "apply_side: levels must be a dict and heap a list");
        return NULL;
    }
    int is_bid = PyObject_IsTrue(args[4]);
    if (is_bid < 0) {
        return NULL;
    }
    PyObject *seq = PySequence_Fast(rows, "apply_side: rows must be a sequence of (price, size)");
    if (seq == NULL) {
        return NULL;
    }
    PyObject *best = Py_NewRef(args[3]);
    PyObject *zero = PyFloat_FromDouble(0.0);
    if (zero == NULL) {
        goto error;
    }
    /* The size is read each time: a comparison or next_best runs Python code. */
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *row = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *p, *s;
        if (PyTuple_CheckExact(row) && PyTuple_GET_SIZE(row) == 2) {
            p = Py_NewRef(PyTuple_GET_ITEM(row, 0));
            s = Py_NewRef(PyTuple_GET_ITEM(row, 1));
        }
        else {
            /* a list, a named tuple or any other pair, unpacked as Python's `for p, s in rows` */
            PyObject *pair = PySequence_Fast(row, "");
            if (pair == NULL || PySequence_Fast_GET_SIZE(pair) != 2) {
                Py_XDECREF(pair);
                PyErr_Clear();
                PyErr_Format(PyExc_ValueError,
                             "book level %zd must be a (price, size) pair, got %R", i, row);
                goto error;
            }
            p = Py_NewRef(PySequence_Fast_GET_ITEM(pair, 0));
            s = Py_NewRef(PySequence_Fast_GET_ITEM(pair, 1));
            Py_DECREF(pair);
        }
        int positive;
        if (PyFloat_CheckExact(s)) {
            positive = PyFloat_AS_DOUBLE(s) > 0.0;
        }
        else {
            positive = PyObject_RichCompareBool(s, zero, Py_GT);
        }
        int rc = 0;
        if (positive < 0) {
            rc = -1;
        }
        else if (positive) {
            int has = PyDict_Contains(levels, p);
            if (has < 0) {
                rc = -1;
            }
            else if (!has) {
                PyObject *key = is_bid ? PyNumber_Negative(p) : Py_NewRef(p);
                if (key == NULL || heap_push(heap, key) < 0) {
                    rc = -1;
                }
                Py_XDECREF(key);
                if (rc == 0) {
                    int better = 1;
                    if (best != Py_None) {
                        better = is_bid ? less_than(best, p) : less_than(p, best);
                    }
                    if (better < 0) {
                        rc = -1;
                    }
                    else if (better) {
                        Py_SETREF(best, Py_NewRef(p));
                    }
                }
            }
            if (rc == 0) {
                rc = PyDict_SetItem(levels, p, s);
            }
        }
        else {
            PyObject *old = PyDict_GetItemWithError(levels, p);
            if (old == NULL) {
                if (PyErr_Occurred()) {
                    rc = -1;
                }
            }
            else if (PyDict_DelItem(levels, p) < 0) {
                rc = -1;
            }
            else if (best != Py_None) {
                int eq;
                if (PyFloat_CheckExact(p) && PyFloat_CheckExact(best)) {
                    eq = PyFloat_AS_DOUBLE(p) == PyFloat_AS_DOUBLE(best);
                }
                else {
                    eq = PyObject_RichCompareBool(p, best, Py_EQ);
                }
                if (eq < 0) {
                    rc = -1;
                }
                else if (eq) {
                    PyObject *nb = find_next_best(levels, heap, is_bid, next_best);
                    if (nb == NULL) {
                        rc = -1;
                    }
                    else {
                        Py_SETREF(best, nb);
                    }
                }
            }
        }
        Py_DECREF(p);
        Py_DECREF(s);
        if (rc < 0) {
            goto error;
        }
    }
    Py_DECREF(zero);
    Py_DECREF(seq);
    return best;

error:
    Py_XDECREF(zero);
    Py_DECREF(best);
    Py_DECREF(seq);
    return NULL;
}

static PyMethodDef methods[] = {
    {"apply_side", (PyCFunction)(void (*)(void))apply_side, METH_FASTCALL,
     "apply_side(levels, heap, rows, best, is_bid, next_best) -> best\n\n"
     "Apply one side of a book delta: book.py's _apply_side_py in C."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "botkit._book", "One side of an L2 book delta, applied in C.", -1, methods,
};

PyMODINIT_FUNC
PyInit__book(void)
{
    return PyModule_Create(&module);
}
