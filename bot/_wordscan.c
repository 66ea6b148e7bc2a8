/*
 * bot._wordscan: the two per-character loops of the matcher, compiled.
 *
 * hay(text)  — the matcher's token string: the [a-z0-9] runs of normalised
 *              (ASCII, lower-case) text joined by single spaces, with a space
 *              at both ends. Same result as
 *              " " + " ".join(flatten(text).split()) + " ".
 *
 * WordFilter — which words of a token string may be misspellings of a fuzzy
 *              alias word. Each entry is (word, budget, reach): a token is a
 *              candidate when it has the entry's first letter, a length
 *              within `reach` of the entry's and an Indel distance (insertions
 *              + deletions) of at most `budget` to it. The answer for a word
 *              is remembered, so a word is examined once per filter (until
 *              `limit` words are remembered; then it starts afresh).
 *              Examining is cheap: the letter-set difference is a lower bound
 *              of the Indel distance and rejects almost every pair in two
 *              instructions; the survivors get the exact distance
 *              (bit-parallel LCS).
 *
 * bot/wordscan.py holds the pure-Python reference of both, used when this
 * module was not built; tests check that the two agree.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static int
is_token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
require_ascii(PyObject *text, const char *what)
{
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "%s: expected str, got %.100s", what,
                     Py_TYPE(text)->tp_name);
        return -1;
    }
    if (!PyUnicode_IS_ASCII(text)) {
        PyErr_Format(PyExc_ValueError, "%s: text must be ASCII (normalised text)", what);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ hay */

static PyObject *
wordscan_hay(PyObject *module, PyObject *text)
{
    if (require_ascii(text, "hay") < 0)
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const unsigned char *s = PyUnicode_1BYTE_DATA(text);
    unsigned char *buf = PyMem_Malloc((size_t)n + 3);
    if (buf == NULL)
        return PyErr_NoMemory();
    Py_ssize_t j = 0;
    int in_token = 0;
    buf[j++] = ' ';
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (is_token_char(c)) {
            buf[j++] = c;
            in_token = 1;
        }
        else if (in_token) {
            buf[j++] = ' ';
            in_token = 0;
        }
    }
    if (in_token || j == 1)
        buf[j++] = ' ';
    PyObject *out = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, buf, j);
    PyMem_Free(buf);
    return out;
}

/* ----------------------------------------------------------- WordFilter */

typedef struct {
    Py_ssize_t offset; /* into chars */
    int32_t len;
    int32_t budget;
    uint64_t letters; /* bit per letter/digit present */
} Entry;

typedef struct {
    PyObject_HEAD
    Entry *entries;
    Py_ssize_t n_entries;
    char *chars;
    int32_t max_len;       /* longest token that can fall in a bucket */
    int32_t *bucket_start; /* CSR: key = first * (max_len + 1) + length */
    int32_t *bucket_items;
    /* memo: open addressing; hashes[i] == 0 is an empty slot */
    uint64_t *hashes;
    Py_ssize_t *offsets; /* into arena */
    int32_t *lens;
    PyObject **words; /* the word as str when it is a candidate, else NULL */
    size_t cap;
    size_t used;
    size_t limit;
    char *arena;
    size_t arena_len;
    size_t arena_cap;
    uint64_t pm[128]; /* bit-parallel LCS pattern of the word being examined */
} WordFilter;

static uint64_t
letter_bit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return 1ULL << (c - '0');
    if (c >= 'a' && c <= 'z')
        return 1ULL << (c - 'a' + 10);
    return 1ULL << 63;
}

static uint64_t
letters_of(const unsigned char *p, Py_ssize_t len)
{
    uint64_t m = 0;
    for (Py_ssize_t i = 0; i < len; i++)
        m |= letter_bit(p[i]);
    return m;
}

static uint64_t
fnv1a(const unsigned char *p, Py_ssize_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (Py_ssize_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

static void
filter_forget(WordFilter *self)
{
    if (self->words != NULL) {
        for (size_t i = 0; i < self->cap; i++)
            Py_CLEAR(self->words[i]);
    }
    if (self->hashes != NULL)
        memset(self->hashes, 0, self->cap * sizeof(uint64_t));
    self->used = 0;
    self->arena_len = 0;
}

static int
filter_alloc_table(WordFilter *self, size_t cap)
{
    self->hashes = PyMem_Calloc(cap, sizeof(uint64_t));
    self->offsets = PyMem_Malloc(cap * sizeof(Py_ssize_t));
    self->lens = PyMem_Malloc(cap * sizeof(int32_t));
    self->words = PyMem_Calloc(cap, sizeof(PyObject *));
    if (!self->hashes || !self->offsets || !self->lens || !self->words) {
        PyErr_NoMemory();
        return -1;
    }
    self->cap = cap;
    return 0;
}

static void
filter_free_table(uint64_t *hashes, Py_ssize_t *offsets, int32_t *lens, PyObject **words)
{
    PyMem_Free(hashes);
    PyMem_Free(offsets);
    PyMem_Free(lens);
    PyMem_Free(words);
}

static int
filter_grow(WordFilter *self)
{
    uint64_t *old_hashes = self->hashes;
    Py_ssize_t *old_offsets = self->offsets;
    int32_t *old_lens = self->lens;
    PyObject **old_words = self->words;
    size_t old_cap = self->cap;
    if (filter_alloc_table(self, old_cap * 2) < 0) {
        filter_free_table(self->hashes, self->offsets, self->lens, self->words);
        self->hashes = old_hashes;
        self->offsets = old_offsets;
        self->lens = old_lens;
        self->words = old_words;
        self->cap = old_cap;
        return -1;
    }
    size_t mask = self->cap - 1;
    for (size_t i = 0; i < old_cap; i++) {
        if (old_hashes[i] == 0)
            continue;
        size_t k = old_hashes[i] & mask;
        while (self->hashes[k] != 0)
            k = (k + 1) & mask;
        self->hashes[k] = old_hashes[i];
        self->offsets[k] = old_offsets[i];
        self->lens[k] = old_lens[i];
        self->words[k] = old_words[i]; /* the reference moves */
    }
    filter_free_table(old_hashes, old_offsets, old_lens, old_words);
    return 0;
}

/* Length of the longest common subsequence of the word in self->pm (length
 * wlen <= 64) and entry text e (Hyyrö's bit-parallel algorithm). */
static int32_t
lcs_bitparallel(const uint64_t *pm, int32_t wlen, const unsigned char *e, int32_t elen)
{
    uint64_t s = ~0ULL;
    for (int32_t i = 0; i < elen; i++) {
        uint64_t u = s & pm[e[i] & 127];
        s = (s + u) | (s - u);
    }
    uint64_t keep = wlen >= 64 ? ~0ULL : ((1ULL << wlen) - 1);
    return (int32_t)__builtin_popcountll(~s & keep);
}

/* The same for words longer than 64 characters: the textbook table, two rows. */
static int32_t
lcs_table(const unsigned char *w, int32_t wlen, const unsigned char *e, int32_t elen, int *error)
{
    int32_t *prev = PyMem_Calloc((size_t)elen + 1, sizeof(int32_t));
    int32_t *cur = PyMem_Calloc((size_t)elen + 1, sizeof(int32_t));
    if (prev == NULL || cur == NULL) {
        PyMem_Free(prev);
        PyMem_Free(cur);
        *error = 1;
        return 0;
    }
    for (int32_t i = 1; i <= wlen; i++) {
        for (int32_t j = 1; j <= elen; j++) {
            if (w[i - 1] == e[j - 1])
                cur[j] = prev[j - 1] + 1;
            else
                cur[j] = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
        }
        int32_t *t = prev;
        prev = cur;
        cur = t;
    }
    int32_t result = prev[elen];
    PyMem_Free(prev);
    PyMem_Free(cur);
    return result;
}

/* 1 if the word is within the budget of an entry of its bucket, 0 if not, -1 on error. */
static int
filter_examine(WordFilter *self, const unsigned char *w, Py_ssize_t wlen)
{
    if (wlen == 0 || wlen > self->max_len || w[0] >= 128)
        return 0;
    Py_ssize_t key = (Py_ssize_t)w[0] * (self->max_len + 1) + wlen;
    int32_t lo = self->bucket_start[key], hi = self->bucket_start[key + 1];
    if (lo == hi)
        return 0;
    uint64_t letters = letters_of(w, wlen);
    int pattern_ready = 0;
    int found = 0;
    for (int32_t k = lo; k < hi && !found; k++) {
        const Entry *e = &self->entries[self->bucket_items[k]];
        if (__builtin_popcountll(letters ^ e->letters) > e->budget)
            continue; /* letters only one of them has: each needs an insertion or deletion */
        const unsigned char *etext = (const unsigned char *)self->chars + e->offset;
        int32_t lcs;
        if (wlen <= 64) {
            if (!pattern_ready) {
                for (Py_ssize_t i = 0; i < wlen; i++)
                    self->pm[w[i] & 127] |= 1ULL << i;
                pattern_ready = 1;
            }
            lcs = lcs_bitparallel(self->pm, (int32_t)wlen, etext, e->len);
        }
        else {
            int error = 0;
            lcs = lcs_table(w, (int32_t)wlen, etext, e->len, &error);
            if (error) {
                PyErr_NoMemory();
                return -1;
            }
        }
        if ((int32_t)wlen + e->len - 2 * lcs <= e->budget)
            found = 1;
    }
    if (pattern_ready) {
        for (Py_ssize_t i = 0; i < wlen; i++)
            self->pm[w[i] & 127] = 0;
    }
    return found;
}

/* The word as str if it is a candidate (borrowed), Py_None if not (borrowed), NULL on error. */
static PyObject *
filter_lookup(WordFilter *self, const unsigned char *w, Py_ssize_t wlen)
{
    uint64_t h = fnv1a(w, wlen);
    size_t mask = self->cap - 1;
    size_t k = h & mask;
    while (self->hashes[k] != 0) {
        if (self->hashes[k] == h && self->lens[k] == wlen &&
            memcmp(self->arena + self->offsets[k], w, (size_t)wlen) == 0)
            return self->words[k] ? self->words[k] : Py_None;
        k = (k + 1) & mask;
    }
    int candidate = filter_examine(self, w, wlen);
    if (candidate < 0)
        return NULL;
    if ((self->used + 1) * 2 > self->cap) {
        if (filter_grow(self) < 0)
            return NULL;
        mask = self->cap - 1;
        k = h & mask;
        while (self->hashes[k] != 0)
            k = (k + 1) & mask;
    }
    if (self->arena_len + (size_t)wlen > self->arena_cap) {
        size_t want = self->arena_cap * 2;
        while (want < self->arena_len + (size_t)wlen)
            want *= 2;
        char *grown = PyMem_Realloc(self->arena, want);
        if (grown == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        self->arena = grown;
        self->arena_cap = want;
    }
    PyObject *word = NULL;
    if (candidate) {
        word = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, w, wlen);
        if (word == NULL)
            return NULL;
    }
    memcpy(self->arena + self->arena_len, w, (size_t)wlen);
    self->hashes[k] = h;
    self->offsets[k] = (Py_ssize_t)self->arena_len;
    self->lens[k] = (int32_t)wlen;
    self->words[k] = word;
    self->arena_len += (size_t)wlen;
    self->used++;
    return word ? word : Py_None;
}

static void
WordFilter_dealloc(WordFilter *self)
{
    filter_forget(self);
    filter_free_table(self->hashes, self->offsets, self->lens, self->words);
    PyMem_Free(self->entries);
    PyMem_Free(self->chars);
    PyMem_Free(self->bucket_start);
    PyMem_Free(self->bucket_items);
    PyMem_Free(self->arena);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
WordFilter_init(WordFilter *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"entries", "limit", NULL};
    PyObject *entries_arg;
    Py_ssize_t limit = 100000;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|n:WordFilter", kwlist, &entries_arg, &limit))
        return -1;
    if (self->entries != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "WordFilter is already initialised");
        return -1;
    }
    if (limit < 1) {
        PyErr_SetString(PyExc_ValueError, "limit must be at least 1");
        return -1;
    }
    PyObject *seq = PySequence_Fast(entries_arg, "entries must be a sequence of (word, budget, reach)");
    if (seq == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    int32_t *reaches = PyMem_Calloc((size_t)n + 1, sizeof(int32_t));
    self->entries = PyMem_Calloc((size_t)n + 1, sizeof(Entry));
    if (reaches == NULL || self->entries == NULL) {
        PyMem_Free(reaches);
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t total = 0;
    int32_t max_len = 0;
    /* first pass: validate, measure */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *word;
        int budget, reach;
        if (!PyTuple_Check(item) || !PyArg_ParseTuple(item, "Uii", &word, &budget, &reach)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "each entry is (word: str, budget: int, reach: int)");
            goto fail;
        }
        if (require_ascii(word, "WordFilter entry") < 0)
            goto fail;
        Py_ssize_t len = PyUnicode_GET_LENGTH(word);
        if (len == 0 || len > 1000 || budget < 0 || reach < 0) {
            PyErr_SetString(PyExc_ValueError,
                            "an entry needs a word of 1-1000 characters and budget, reach >= 0");
            goto fail;
        }
        self->entries[i].offset = total;
        self->entries[i].len = (int32_t)len;
        self->entries[i].budget = budget;
        reaches[i] = reach;
        total += len;
        if (len + reach > max_len)
            max_len = (int32_t)(len + reach);
    }
    self->n_entries = n;
    self->max_len = max_len;
    self->chars = PyMem_Malloc((size_t)total + 1);
    Py_ssize_t keys = 128 * ((Py_ssize_t)max_len + 1);
    self->bucket_start = PyMem_Calloc((size_t)keys + 1, sizeof(int32_t));
    if (self->chars == NULL || self->bucket_start == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    /* second pass: texts, letter sets, bucket sizes */
    Py_ssize_t slots = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *word = PyTuple_GET_ITEM(PySequence_Fast_GET_ITEM(seq, i), 0);
        const unsigned char *p = PyUnicode_1BYTE_DATA(word);
        Entry *e = &self->entries[i];
        memcpy(self->chars + e->offset, p, (size_t)e->len);
        e->letters = letters_of(p, e->len);
        int32_t lo = e->len - reaches[i] < 1 ? 1 : e->len - reaches[i];
        for (int32_t L = lo; L <= e->len + reaches[i]; L++) {
            self->bucket_start[(Py_ssize_t)p[0] * (max_len + 1) + L + 1]++;
            slots++;
        }
    }
    for (Py_ssize_t key = 0; key < keys; key++)
        self->bucket_start[key + 1] += self->bucket_start[key];
    self->bucket_items = PyMem_Malloc(((size_t)slots + 1) * sizeof(int32_t));
    int32_t *fill = PyMem_Calloc((size_t)keys + 1, sizeof(int32_t));
    if (self->bucket_items == NULL || fill == NULL) {
        PyMem_Free(fill);
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const Entry *e = &self->entries[i];
        unsigned char first = (unsigned char)self->chars[e->offset];
        int32_t lo = e->len - reaches[i] < 1 ? 1 : e->len - reaches[i];
        for (int32_t L = lo; L <= e->len + reaches[i]; L++) {
            Py_ssize_t key = (Py_ssize_t)first * (max_len + 1) + L;
            self->bucket_items[self->bucket_start[key] + fill[key]++] = (int32_t)i;
        }
    }
    PyMem_Free(fill);
    PyMem_Free(reaches);
    Py_DECREF(seq);
    self->limit = (size_t)limit;
    self->arena_cap = 4096;
    self->arena = PyMem_Malloc(self->arena_cap);
    if (self->arena == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return filter_alloc_table(self, 1024);

fail:
    PyMem_Free(reaches);
    Py_DECREF(seq);
    PyMem_Free(self->entries);
    self->entries = NULL;
    return -1;
}

static int
filter_ready(WordFilter *self)
{
    if (self->hashes == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "WordFilter is not initialised");
        return -1;
    }
    return 0;
}

static PyObject *
WordFilter_candidates(WordFilter *self, PyObject *hay)
{
    if (filter_ready(self) < 0 || require_ascii(hay, "candidates") < 0)
        return NULL;
    if (self->used >= self->limit)
        filter_forget(self);
    Py_ssize_t n = PyUnicode_GET_LENGTH(hay);
    const unsigned char *s = PyUnicode_1BYTE_DATA(hay);
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    Py_ssize_t token = 0, i = 0;
    while (i < n) {
        while (i < n && s[i] == ' ')
            i++;
        if (i >= n)
            break;
        Py_ssize_t start = i;
        while (i < n && s[i] != ' ')
            i++;
        PyObject *word = filter_lookup(self, s + start, i - start);
        if (word == NULL)
            goto fail;
        if (word != Py_None) {
            PyObject *pair = Py_BuildValue("(nO)", token, word);
            if (pair == NULL)
                goto fail;
            int rc = PyList_Append(out, pair);
            Py_DECREF(pair);
            if (rc < 0)
                goto fail;
        }
        token++;
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static PyObject *
WordFilter_clear(WordFilter *self, PyObject *Py_UNUSED(ignored))
{
    if (filter_ready(self) < 0)
        return NULL;
    filter_forget(self);
    Py_RETURN_NONE;
}

static Py_ssize_t
WordFilter_len(WordFilter *self)
{
    return (Py_ssize_t)self->used;
}

static PyMethodDef WordFilter_methods[] = {
    {"candidates", (PyCFunction)WordFilter_candidates, METH_O,
     "candidates(hay) -> [(token index, word)]: the tokens of a token string that are within\n"
     "the budget of an entry, in order."},
    {"clear", (PyCFunction)WordFilter_clear, METH_NOARGS, "Forget every word examined so far."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods WordFilter_as_sequence = {
    .sq_length = (lenfunc)WordFilter_len,
};

static PyTypeObject WordFilterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "bot._wordscan.WordFilter",
    .tp_doc = "WordFilter(entries, limit=100000): which tokens may be misspellings of alias words.\n"
              "entries: (word, budget, reach) — same first letter, length within reach, Indel\n"
              "distance within budget. len() is the number of words remembered.",
    .tp_basicsize = sizeof(WordFilter),
    .tp_itemsize = 0,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)WordFilter_init,
    .tp_dealloc = (destructor)WordFilter_dealloc,
    .tp_methods = WordFilter_methods,
    .tp_as_sequence = &WordFilter_as_sequence,
};

static PyMethodDef module_methods[] = {
    {"hay", (PyCFunction)wordscan_hay, METH_O,
     "hay(normalised) -> ' tok tok … ': the [a-z0-9] runs joined by single spaces, a space at\n"
     "both ends."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef wordscan_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "bot._wordscan",
    .m_doc = "Compiled per-character loops of the matcher (see bot/wordscan.py).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__wordscan(void)
{
    if (PyType_Ready(&WordFilterType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&wordscan_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&WordFilterType);
    if (PyModule_AddObject(m, "WordFilter", (PyObject *)&WordFilterType) < 0) {
        Py_DECREF(&WordFilterType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
