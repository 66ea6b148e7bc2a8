/*
 * bot._wordscan: the two per-character loops of the matcher, compiled.
 *
 * hay(text)  — the matcher's token string: the [a-z0-9] runs of normalised
 *              (ASCII, lower-case) text joined by single spaces, with a space
 *              at both ends. Same result as
 *              " " + " ".join(flatten(text).split()) + " ".
 *
 * FuzzyIndex — the first pass of fuzzy entity matching. Its words are the
 *              words of the fuzzy aliases, each with a length window and
 *              targets (alias, place of the word in it, budget). A token with
 *              the word's first letter, a length in the window and an Indel
 *              distance (insertions + deletions) within a target's budget
 *              is *near* that target. What a token is near is remembered, so
 *              a word is examined once (until `limit` words are remembered;
 *              then it starts afresh). Examining is cheap: the letter-set
 *              difference is a lower bound of the Indel distance and rejects
 *              almost every pair in two instructions; the rest get the exact
 *              distance (bit-parallel LCS). scan() reports the tokens near a
 *              one-word alias, and for a token near a word of a longer alias
 *              the gram around it that lines up with the alias, if it starts
 *              with the alias's first letter, has a similar length and is
 *              within the alias's ratio cutoff. The matcher gives what is
 *              reported the full check with rapidfuzz.
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
wordscan_hay(PyObject *Py_UNUSED(module), PyObject *text)
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

/* ----------------------------------------------------------- FuzzyIndex */

typedef struct {
    Py_ssize_t offset; /* into chars */
    int32_t len;
    int32_t size;   /* words */
    int32_t cutoff; /* rapidfuzz ratio cutoff, 0-100 */
    int32_t slack;  /* how much longer or shorter than the alias a gram may be */
    uint64_t letters;
} Alias;

typedef struct {
    int32_t alias;
    int32_t place; /* of the word in the alias; -1: a one-word alias */
    int32_t budget;
} Target;

typedef struct {
    Py_ssize_t offset; /* into chars */
    int32_t len;
    int32_t budget; /* the largest of its targets' budgets */
    uint64_t letters;
    int32_t first_target;
    int32_t n_targets;
} Entry;

typedef struct {
    PyObject_HEAD
    Alias *aliases;
    Py_ssize_t n_aliases;
    Entry *entries;
    Py_ssize_t n_entries;
    Target *targets;
    Py_ssize_t n_targets;
    char *chars; /* alias texts, then entry words */
    int32_t max_len;       /* longest token that can fall in a bucket */
    int32_t ring_size;     /* largest place + 1: token starts kept while scanning */
    int32_t *bucket_start; /* CSR: key = first * (max_len + 1) + length */
    int32_t *bucket_items;
    /* memo, open addressing; hashes[i] == 0 is an empty slot */
    uint64_t *hashes;
    Py_ssize_t *offsets; /* into arena */
    int32_t *lens;
    int32_t *match_start; /* into matches: the anchor targets the word is within budget of */
    int32_t *match_count;
    PyObject **words; /* the word as str when it is near a one-word alias, else NULL */
    size_t cap;
    size_t used;
    size_t limit;
    char *arena;
    size_t arena_len;
    size_t arena_cap;
    int32_t *matches;
    size_t matches_len;
    size_t matches_cap;
    Py_ssize_t *ring;
    uint64_t pm[128]; /* bit-parallel LCS pattern; all zero between uses */
} FuzzyIndex;

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

/* Longest common subsequence, bit-parallel (Hyyrö); the pattern a has alen <= 64. */
static int32_t
lcs_bitparallel(uint64_t *pm, const unsigned char *a, int32_t alen, const unsigned char *b,
                int32_t blen)
{
    for (int32_t i = 0; i < alen; i++)
        pm[a[i] & 127] |= 1ULL << i;
    uint64_t s = ~0ULL;
    for (int32_t i = 0; i < blen; i++) {
        uint64_t u = s & pm[b[i] & 127];
        s = (s + u) | (s - u);
    }
    for (int32_t i = 0; i < alen; i++)
        pm[a[i] & 127] = 0;
    uint64_t keep = alen >= 64 ? ~0ULL : ((1ULL << alen) - 1);
    return (int32_t)__builtin_popcountll(~s & keep);
}

/* The same for two strings longer than 64 characters: the textbook table, two rows. */
static int32_t
lcs_table(const unsigned char *a, int32_t alen, const unsigned char *b, int32_t blen)
{
    int32_t *prev = PyMem_Calloc((size_t)blen + 1, sizeof(int32_t));
    int32_t *cur = PyMem_Calloc((size_t)blen + 1, sizeof(int32_t));
    if (prev == NULL || cur == NULL) {
        PyMem_Free(prev);
        PyMem_Free(cur);
        PyErr_NoMemory();
        return -1;
    }
    for (int32_t i = 1; i <= alen; i++) {
        for (int32_t j = 1; j <= blen; j++) {
            if (a[i - 1] == b[j - 1])
                cur[j] = prev[j - 1] + 1;
            else
                cur[j] = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
        }
        int32_t *t = prev;
        prev = cur;
        cur = t;
    }
    int32_t result = prev[blen];
    PyMem_Free(prev);
    PyMem_Free(cur);
    return result;
}

/* Indel distance (insertions + deletions), or -1 with an exception set. */
static int32_t
indel(FuzzyIndex *self, const unsigned char *a, int32_t alen, const unsigned char *b, int32_t blen)
{
    int32_t lcs;
    if (alen <= 64)
        lcs = lcs_bitparallel(self->pm, a, alen, b, blen);
    else if (blen <= 64)
        lcs = lcs_bitparallel(self->pm, b, blen, a, alen);
    else
        lcs = lcs_table(a, alen, b, blen);
    if (lcs < 0)
        return -1;
    return alen + blen - 2 * lcs;
}

static void
index_forget(FuzzyIndex *self)
{
    if (self->words != NULL) {
        for (size_t i = 0; i < self->cap; i++)
            Py_CLEAR(self->words[i]);
    }
    if (self->hashes != NULL)
        memset(self->hashes, 0, self->cap * sizeof(uint64_t));
    self->used = 0;
    self->arena_len = 0;
    self->matches_len = 0;
}

typedef struct {
    uint64_t *hashes;
    Py_ssize_t *offsets;
    int32_t *lens;
    int32_t *match_start;
    int32_t *match_count;
    PyObject **words;
} Table;

static Table
table_of(FuzzyIndex *self)
{
    Table t = {self->hashes, self->offsets, self->lens,
               self->match_start, self->match_count, self->words};
    return t;
}

static void
table_free(Table t)
{
    PyMem_Free(t.hashes);
    PyMem_Free(t.offsets);
    PyMem_Free(t.lens);
    PyMem_Free(t.match_start);
    PyMem_Free(t.match_count);
    PyMem_Free(t.words);
}

static int
table_alloc(FuzzyIndex *self, size_t cap)
{
    self->hashes = PyMem_Calloc(cap, sizeof(uint64_t));
    self->offsets = PyMem_Malloc(cap * sizeof(Py_ssize_t));
    self->lens = PyMem_Malloc(cap * sizeof(int32_t));
    self->match_start = PyMem_Malloc(cap * sizeof(int32_t));
    self->match_count = PyMem_Malloc(cap * sizeof(int32_t));
    self->words = PyMem_Calloc(cap, sizeof(PyObject *));
    self->cap = cap;
    if (!self->hashes || !self->offsets || !self->lens || !self->match_start ||
        !self->match_count || !self->words) {
        table_free(table_of(self));
        self->hashes = NULL;
        self->offsets = NULL;
        self->lens = NULL;
        self->match_start = NULL;
        self->match_count = NULL;
        self->words = NULL;
        self->cap = 0;
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static int
table_grow(FuzzyIndex *self)
{
    Table old = table_of(self);
    size_t old_cap = self->cap;
    if (table_alloc(self, old_cap * 2) < 0) {
        self->hashes = old.hashes;
        self->offsets = old.offsets;
        self->lens = old.lens;
        self->match_start = old.match_start;
        self->match_count = old.match_count;
        self->words = old.words;
        self->cap = old_cap;
        return -1;
    }
    size_t mask = self->cap - 1;
    for (size_t i = 0; i < old_cap; i++) {
        if (old.hashes[i] == 0)
            continue;
        size_t k = old.hashes[i] & mask;
        while (self->hashes[k] != 0)
            k = (k + 1) & mask;
        self->hashes[k] = old.hashes[i];
        self->offsets[k] = old.offsets[i];
        self->lens[k] = old.lens[i];
        self->match_start[k] = old.match_start[i];
        self->match_count[k] = old.match_count[i];
        self->words[k] = old.words[i]; /* the reference moves */
    }
    table_free(old);
    return 0;
}

static int
push_match(FuzzyIndex *self, int32_t target)
{
    if (self->matches_len == self->matches_cap) {
        size_t want = self->matches_cap ? self->matches_cap * 2 : 256;
        int32_t *grown = PyMem_Realloc(self->matches, want * sizeof(int32_t));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        self->matches = grown;
        self->matches_cap = want;
    }
    self->matches[self->matches_len++] = target;
    return 0;
}

/* Compare a new word with the entries of its bucket: pushes the anchor targets it is within
 * budget of onto matches; returns 1 if it is within budget of a one-word alias, 0 if not, -1 on
 * error. */
static int
index_examine(FuzzyIndex *self, const unsigned char *w, Py_ssize_t wlen)
{
    if (wlen == 0 || wlen > self->max_len || w[0] >= 128)
        return 0;
    Py_ssize_t key = (Py_ssize_t)w[0] * (self->max_len + 1) + wlen;
    int32_t lo = self->bucket_start[key], hi = self->bucket_start[key + 1];
    if (lo == hi)
        return 0;
    uint64_t letters = letters_of(w, wlen);
    int single = 0;
    for (int32_t k = lo; k < hi; k++) {
        const Entry *e = &self->entries[self->bucket_items[k]];
        if (__builtin_popcountll(letters ^ e->letters) > e->budget)
            continue; /* a letter only one of them has needs an insertion or a deletion */
        int32_t d = indel(self, (const unsigned char *)self->chars + e->offset, e->len, w,
                          (int32_t)wlen);
        if (d < 0)
            return -1;
        if (d > e->budget)
            continue;
        for (int32_t t = e->first_target; t < e->first_target + e->n_targets; t++) {
            if (d > self->targets[t].budget)
                continue;
            if (self->targets[t].place < 0)
                single = 1;
            else if (push_match(self, t) < 0)
                return -1;
        }
    }
    return single;
}

/* Slot of the word in the memo (examined if new), or -1 on error. */
static Py_ssize_t
index_lookup(FuzzyIndex *self, const unsigned char *w, Py_ssize_t wlen)
{
    uint64_t h = fnv1a(w, wlen);
    size_t mask = self->cap - 1;
    size_t k = h & mask;
    while (self->hashes[k] != 0) {
        if (self->hashes[k] == h && self->lens[k] == wlen &&
            memcmp(self->arena + self->offsets[k], w, (size_t)wlen) == 0)
            return (Py_ssize_t)k;
        k = (k + 1) & mask;
    }
    size_t first_match = self->matches_len;
    int single = index_examine(self, w, wlen);
    if (single < 0)
        return -1;
    if ((self->used + 1) * 2 > self->cap) {
        if (table_grow(self) < 0)
            return -1;
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
            return -1;
        }
        self->arena = grown;
        self->arena_cap = want;
    }
    PyObject *word = NULL;
    if (single) {
        word = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, w, wlen);
        if (word == NULL)
            return -1;
    }
    memcpy(self->arena + self->arena_len, w, (size_t)wlen);
    self->hashes[k] = h;
    self->offsets[k] = (Py_ssize_t)self->arena_len;
    self->lens[k] = (int32_t)wlen;
    self->match_start[k] = (int32_t)first_match;
    self->match_count[k] = (int32_t)(self->matches_len - first_match);
    self->words[k] = word;
    self->arena_len += (size_t)wlen;
    self->used++;
    return (Py_ssize_t)k;
}

/* The gram of target t around the token that starts at `at` (token index `token`): appended to
 * grams as (start token, gram, alias id) if it lines up with the alias and may pass its cutoff.
 * Returns 0, or -1 on error. */
static int
index_gram(FuzzyIndex *self, const unsigned char *s, Py_ssize_t n, Py_ssize_t token,
           const Target *t, PyObject *grams)
{
    Py_ssize_t start = token - t->place;
    if (start < 0)
        return 0;
    const Alias *a = &self->aliases[t->alias];
    const unsigned char *text = (const unsigned char *)self->chars + a->offset;
    Py_ssize_t begin = self->ring[start % self->ring_size];
    if (s[begin] != text[0])
        return 0;
    Py_ssize_t p = begin;
    for (int32_t k = 0; k < a->size; k++) {
        while (p < n && s[p] != ' ')
            p++;
        if (k + 1 < a->size) {
            if (p + 1 >= n || s[p + 1] == ' ')
                return 0; /* the text ends before the gram does */
            p++;
        }
    }
    int32_t glen = (int32_t)(p - begin);
    int32_t diff = glen > a->len ? glen - a->len : a->len - glen;
    if (diff > a->slack)
        return 0;
    /* ratio = 100 * (1 - d / (glen + len)) >= cutoff  <=>  100 * d <= (100 - cutoff) * (glen + len) */
    int64_t room = (int64_t)(100 - a->cutoff) * (glen + a->len);
    uint64_t letters = letters_of(s + begin, glen);
    if (100 * (int64_t)__builtin_popcountll(letters ^ a->letters) > room)
        return 0;
    int32_t d = indel(self, text, a->len, s + begin, glen);
    if (d < 0)
        return -1;
    if (100 * (int64_t)d > room)
        return 0;
    PyObject *gram = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, s + begin, glen);
    if (gram == NULL)
        return -1;
    PyObject *item = Py_BuildValue("(nNi)", start, gram, t->alias);
    if (item == NULL)
        return -1;
    int rc = PyList_Append(grams, item);
    Py_DECREF(item);
    return rc;
}

static PyObject *
FuzzyIndex_scan(FuzzyIndex *self, PyObject *hay)
{
    if (self->hashes == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "FuzzyIndex is not initialised");
        return NULL;
    }
    if (require_ascii(hay, "scan") < 0)
        return NULL;
    if (self->used >= self->limit)
        index_forget(self);
    Py_ssize_t n = PyUnicode_GET_LENGTH(hay);
    const unsigned char *s = PyUnicode_1BYTE_DATA(hay);
    PyObject *singles = PyList_New(0);
    PyObject *grams = PyList_New(0);
    if (singles == NULL || grams == NULL)
        goto fail;
    Py_ssize_t token = 0, i = 0;
    while (i < n) {
        while (i < n && s[i] == ' ')
            i++;
        if (i >= n)
            break;
        Py_ssize_t start = i;
        while (i < n && s[i] != ' ')
            i++;
        self->ring[token % self->ring_size] = start;
        Py_ssize_t slot = index_lookup(self, s + start, i - start);
        if (slot < 0)
            goto fail;
        PyObject *word = self->words[slot];
        if (word != NULL) {
            PyObject *item = Py_BuildValue("(nO)", token, word);
            if (item == NULL || PyList_Append(singles, item) < 0) {
                Py_XDECREF(item);
                goto fail;
            }
            Py_DECREF(item);
        }
        int32_t m0 = self->match_start[slot], m1 = m0 + self->match_count[slot];
        for (int32_t m = m0; m < m1; m++) {
            if (index_gram(self, s, n, token, &self->targets[self->matches[m]], grams) < 0)
                goto fail;
        }
        token++;
    }
    return Py_BuildValue("(NN)", singles, grams);
fail:
    Py_XDECREF(singles);
    Py_XDECREF(grams);
    return NULL;
}

static void
FuzzyIndex_dealloc(FuzzyIndex *self)
{
    index_forget(self);
    table_free(table_of(self));
    PyMem_Free(self->aliases);
    PyMem_Free(self->entries);
    PyMem_Free(self->targets);
    PyMem_Free(self->chars);
    PyMem_Free(self->bucket_start);
    PyMem_Free(self->bucket_items);
    PyMem_Free(self->arena);
    PyMem_Free(self->matches);
    PyMem_Free(self->ring);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
bad_input(const char *message)
{
    if (!PyErr_Occurred())
        PyErr_SetString(PyExc_TypeError, message);
    return -1;
}

#define ALIAS_SHAPE "aliases: a sequence of (text: str, size: int, cutoff: int)"
#define WORD_SHAPE \
    "words: a sequence of (word: str, reach: int, targets: [(alias: int, place: int, budget: int)])"

static int
FuzzyIndex_init(FuzzyIndex *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"aliases", "words", "limit", NULL};
    PyObject *aliases_arg, *words_arg;
    Py_ssize_t limit = 100000;
    PyObject *aseq = NULL, *wseq = NULL;
    int32_t *reaches = NULL;
    int32_t *fill = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|n:FuzzyIndex", kwlist, &aliases_arg,
                                     &words_arg, &limit))
        return -1;
    if (self->aliases != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "FuzzyIndex is already initialised");
        return -1;
    }
    if (limit < 1) {
        PyErr_SetString(PyExc_ValueError, "limit must be at least 1");
        return -1;
    }
    aseq = PySequence_Fast(aliases_arg, ALIAS_SHAPE);
    wseq = aseq ? PySequence_Fast(words_arg, WORD_SHAPE) : NULL;
    if (wseq == NULL)
        goto fail;
    Py_ssize_t na = PySequence_Fast_GET_SIZE(aseq), nw = PySequence_Fast_GET_SIZE(wseq);
    self->aliases = PyMem_Calloc((size_t)na + 1, sizeof(Alias));
    self->entries = PyMem_Calloc((size_t)nw + 1, sizeof(Entry));
    reaches = PyMem_Calloc((size_t)nw + 1, sizeof(int32_t));
    if (!self->aliases || !self->entries || !reaches) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_ssize_t total = 0, n_targets = 0;
    int32_t max_len = 0, max_place = 0;
    for (Py_ssize_t i = 0; i < na; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(aseq, i), *text;
        int size, cutoff;
        if (!PyTuple_Check(item) || !PyArg_ParseTuple(item, "Uii", &text, &size, &cutoff)) {
            bad_input(ALIAS_SHAPE);
            goto fail;
        }
        if (require_ascii(text, "FuzzyIndex alias") < 0)
            goto fail;
        Py_ssize_t len = PyUnicode_GET_LENGTH(text);
        if (len == 0 || len > 10000 || size < 1 || cutoff < 0 || cutoff > 100) {
            PyErr_SetString(PyExc_ValueError,
                            "an alias needs text of 1-10000 characters, size >= 1, cutoff 0-100");
            goto fail;
        }
        Alias *a = &self->aliases[i];
        a->offset = total;
        a->len = (int32_t)len;
        a->size = size;
        a->cutoff = cutoff;
        a->slack = (int32_t)(len / 5 > 1 ? len / 5 : 1);
        total += len;
    }
    self->n_aliases = na;
    for (Py_ssize_t i = 0; i < nw; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(wseq, i), *word, *targets;
        int reach;
        if (!PyTuple_Check(item) || !PyArg_ParseTuple(item, "UiO", &word, &reach, &targets) ||
            !PyList_Check(targets)) {
            bad_input(WORD_SHAPE);
            goto fail;
        }
        if (require_ascii(word, "FuzzyIndex word") < 0)
            goto fail;
        Py_ssize_t len = PyUnicode_GET_LENGTH(word);
        if (len == 0 || len > 10000 || reach < 0 || PyList_GET_SIZE(targets) == 0) {
            PyErr_SetString(PyExc_ValueError,
                            "a word needs 1-10000 characters, reach >= 0 and a target");
            goto fail;
        }
        Entry *e = &self->entries[i];
        e->offset = total;
        e->len = (int32_t)len;
        e->first_target = (int32_t)n_targets;
        e->n_targets = (int32_t)PyList_GET_SIZE(targets);
        reaches[i] = reach;
        total += len;
        n_targets += PyList_GET_SIZE(targets);
        if (len + reach > max_len)
            max_len = (int32_t)(len + reach);
    }
    self->n_entries = nw;
    self->targets = PyMem_Calloc((size_t)n_targets + 1, sizeof(Target));
    self->chars = PyMem_Malloc((size_t)total + 1);
    self->max_len = max_len;
    Py_ssize_t keys = 128 * ((Py_ssize_t)max_len + 1);
    self->bucket_start = PyMem_Calloc((size_t)keys + 1, sizeof(int32_t));
    if (!self->targets || !self->chars || !self->bucket_start) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < na; i++) {
        PyObject *text = PyTuple_GET_ITEM(PySequence_Fast_GET_ITEM(aseq, i), 0);
        Alias *a = &self->aliases[i];
        memcpy(self->chars + a->offset, PyUnicode_1BYTE_DATA(text), (size_t)a->len);
        a->letters = letters_of((const unsigned char *)self->chars + a->offset, a->len);
    }
    Py_ssize_t slots = 0;
    for (Py_ssize_t i = 0; i < nw; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(wseq, i);
        PyObject *word = PyTuple_GET_ITEM(item, 0), *targets = PyTuple_GET_ITEM(item, 2);
        Entry *e = &self->entries[i];
        const unsigned char *p = PyUnicode_1BYTE_DATA(word);
        memcpy(self->chars + e->offset, p, (size_t)e->len);
        e->letters = letters_of(p, e->len);
        for (int32_t k = 0; k < e->n_targets; k++) {
            Target *t = &self->targets[e->first_target + k];
            PyObject *tt = PyList_GET_ITEM(targets, k);
            if (!PyTuple_Check(tt) ||
                !PyArg_ParseTuple(tt, "iii", &t->alias, &t->place, &t->budget)) {
                bad_input(WORD_SHAPE);
                goto fail;
            }
            if (t->alias < 0 || t->alias >= na || t->budget < 0 || t->place < -1 ||
                t->place >= self->aliases[t->alias].size) {
                PyErr_SetString(PyExc_ValueError,
                                "a target needs an alias id, a place in the alias (or -1) and "
                                "budget >= 0");
                goto fail;
            }
            if (t->budget > e->budget)
                e->budget = t->budget;
            if (t->place > max_place)
                max_place = t->place;
        }
        int32_t lo = e->len - reaches[i] < 1 ? 1 : e->len - reaches[i];
        for (int32_t L = lo; L <= e->len + reaches[i]; L++) {
            self->bucket_start[(Py_ssize_t)p[0] * (max_len + 1) + L + 1]++;
            slots++;
        }
    }
    for (Py_ssize_t key = 0; key < keys; key++)
        self->bucket_start[key + 1] += self->bucket_start[key];
    self->bucket_items = PyMem_Malloc(((size_t)slots + 1) * sizeof(int32_t));
    fill = PyMem_Calloc((size_t)keys + 1, sizeof(int32_t));
    self->ring_size = max_place + 1;
    self->ring = PyMem_Calloc((size_t)self->ring_size, sizeof(Py_ssize_t));
    self->arena_cap = 4096;
    self->arena = PyMem_Malloc(self->arena_cap);
    if (!self->bucket_items || !fill || !self->ring || !self->arena) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < nw; i++) {
        const Entry *e = &self->entries[i];
        unsigned char first = (unsigned char)self->chars[e->offset];
        int32_t lo = e->len - reaches[i] < 1 ? 1 : e->len - reaches[i];
        for (int32_t L = lo; L <= e->len + reaches[i]; L++) {
            Py_ssize_t key = (Py_ssize_t)first * (max_len + 1) + L;
            self->bucket_items[self->bucket_start[key] + fill[key]++] = (int32_t)i;
        }
    }
    self->limit = (size_t)limit;
    PyMem_Free(fill);
    PyMem_Free(reaches);
    Py_DECREF(aseq);
    Py_DECREF(wseq);
    return table_alloc(self, 1024);

fail:
    PyMem_Free(fill);
    PyMem_Free(reaches);
    Py_XDECREF(aseq);
    Py_XDECREF(wseq);
    /* leave nothing half-made: dealloc frees what is left, scan refuses to run */
    PyMem_Free(self->aliases);
    self->aliases = NULL;
    return -1;
}

static PyObject *
FuzzyIndex_clear(FuzzyIndex *self, PyObject *Py_UNUSED(ignored))
{
    index_forget(self);
    Py_RETURN_NONE;
}

static Py_ssize_t
FuzzyIndex_len(FuzzyIndex *self)
{
    return (Py_ssize_t)self->used;
}

static PyMethodDef FuzzyIndex_methods[] = {
    {"scan", (PyCFunction)FuzzyIndex_scan, METH_O,
     "scan(hay) -> (singles, grams): singles [(token index, word)] are tokens within the budget\n"
     "of a one-word alias; grams [(start token, gram, alias id)] are grams around a token\n"
     "within the budget of a word of a longer alias that line up with that alias and are\n"
     "within its cutoff. In the order of the tokens."},
    {"clear", (PyCFunction)FuzzyIndex_clear, METH_NOARGS, "Forget every word examined so far."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods FuzzyIndex_as_sequence = {
    .sq_length = (lenfunc)FuzzyIndex_len,
};

static PyTypeObject FuzzyIndexType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "bot._wordscan.FuzzyIndex",
    .tp_doc = "FuzzyIndex(aliases, words, limit=100000): the fuzzy-entity first pass (see\n"
              "bot/wordscan.py). len() is the number of words remembered.",
    .tp_basicsize = sizeof(FuzzyIndex),
    .tp_itemsize = 0,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)FuzzyIndex_init,
    .tp_dealloc = (destructor)FuzzyIndex_dealloc,
    .tp_methods = FuzzyIndex_methods,
    .tp_as_sequence = &FuzzyIndex_as_sequence,
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
    if (PyType_Ready(&FuzzyIndexType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&wordscan_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&FuzzyIndexType);
    if (PyModule_AddObject(m, "FuzzyIndex", (PyObject *)&FuzzyIndexType) < 0) {
        Py_DECREF(&FuzzyIndexType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
