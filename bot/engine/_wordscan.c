/*
 * bot.engine._wordscan: the matcher's per-character loops, compiled.
 *
 * hay(text)          — the matcher's token string: the [a-z0-9] runs of
 *                      normalised (ASCII, lower-case) text joined by single
 *                      spaces, with a space at both ends. Same result as
 *                      " " + " ".join(flatten(text).split()) + " ".
 * token_starts(text) — the offset of every [a-z0-9] run, as native int32.
 *
 * TokenIndex — the first pass over an article's tokens: one lookup per token
 *              in a table of the words seen so far, which remembers for each
 *              word what it is near and the most tokens of an exact key that
 *              start with it (a word is examined once, until `limit` words
 *              are remembered; then it starts afresh).
 *   Fuzzy:     its words are the words of the fuzzy aliases, each with a
 *              length window and targets (alias, place of the word in it,
 *              budget). A token with the word's first letter, a length in
 *              the window and an Indel distance (insertions + deletions)
 *              within a target's budget is *near* that target. Examining is
 *              cheap: the letter-set difference is a lower bound of the Indel
 *              distance and rejects almost every pair in two instructions;
 *              the rest get the exact distance (bit-parallel LCS). scan()
 *              reports the tokens near a one-word alias, and for a token near
 *              a word of a longer alias the gram around it that lines up with
 *              the alias, if it starts with the alias's first letter, has a
 *              similar length and is within the alias's ratio cutoff. The
 *              matcher gives what is reported the full check with rapidfuzz.
 *   Windows:   a token that starts an exact key (or begins with a one-token
 *              wildcard's prefix) opens a window over as many tokens; the
 *              windows, joined by '|' (in no key), are all the Aho-Corasick
 *              automaton needs to read.
 *   One caller at a time: a second one (another thread, let in while this
 *              one runs Python code for the garbage collector) is refused.
 *
 * bot/engine/wordscan.py holds the pure-Python reference of all of it, used when this
 * module was not built; tests/test_wordscan.py checks that the two agree.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Bits set in x, inline: without -mpopcnt the compiler's builtin is a library call. */
static inline int
popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}

/* The letter-set test runs some seventy times per new word: on x86-64 with GCC and glibc, a
 * clone of the function that uses the POPCNT instruction is picked at load time where the CPU
 * has it (elsewhere the inline popcount64 below). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#define POPCNT_CLONES __attribute__((target_clones("popcnt", "default")))
#define POPCOUNT(x) __builtin_popcountll(x)
#else
#define POPCNT_CLONES
#define POPCOUNT(x) popcount64(x)
#endif

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

/* --------------------------------------------------------- token_starts */

static PyObject *
wordscan_token_starts(PyObject *Py_UNUSED(module), PyObject *text)
{
    if (require_ascii(text, "token_starts") < 0)
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "token_starts: text longer than 2**31");
        return NULL;
    }
    const unsigned char *s = PyUnicode_1BYTE_DATA(text);
    int32_t *starts = PyMem_Malloc(((size_t)n / 2 + 1) * sizeof(int32_t));
    if (starts == NULL)
        return PyErr_NoMemory();
    Py_ssize_t k = 0;
    int in_token = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int t = is_token_char(s[i]);
        if (t && !in_token)
            starts[k++] = (int32_t)i;
        in_token = t;
    }
    PyObject *out = PyBytes_FromStringAndSize((const char *)starts, k * (Py_ssize_t)sizeof(int32_t));
    PyMem_Free(starts);
    return out;
}

/* ----------------------------------------------------------- TokenIndex */

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

/* A remembered word (16 bytes: the table is read once per token of every article). */
typedef struct {
    uint64_t hash;   /* 0: an empty slot */
    uint32_t word;   /* offset of its text in the arena */
    uint16_t len;
    uint8_t tokens;  /* the most tokens of an exact key starting with it */
    uint8_t flags;   /* NEAR_ONE: near a one-word alias; NEAR_ANCHORS: see mstart, mcount */
} Slot;

#define NEAR_ONE 1
#define NEAR_ANCHORS 2
#define MAX_REMEMBERED 0xffff /* longer tokens are looked at every time */
#define MAX_WINDOW 255 /* tokens; a longer exact key turns windows off */

/* A word that starts an exact key, or a prefix of a one-token wildcard key. */
typedef struct {
    uint64_t hash; /* 0: empty */
    Py_ssize_t offset; /* into keychars */
    int32_t len;
    int32_t tokens; /* the most tokens of a key it starts; 0: none */
    int32_t prefix; /* a one-token wildcard key has it as its prefix */
} Starter;


/* An entry in a bucket, with what the letter-set test needs, side by side. */
typedef struct {
    uint64_t letters;
    int32_t budget;
    int32_t entry;
} BucketItem;

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
    BucketItem *bucket_items;
    /* memo, open addressing: one cache line or less per lookup */
    Slot *slots;
    PyObject **words;    /* the word as str when it is near a one-word alias, else NULL */
    int32_t *mstart;     /* into matches: the anchor targets the word is within budget of */
    int32_t *mcount;
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
    Starter *starters; /* open addressing, power-of-two size */
    size_t starters_cap;
    char *keychars;
    int32_t *prefix_lengths; /* distinct lengths of the wildcard prefixes, ascending */
    Py_ssize_t n_prefix_lengths;
    int windows; /* 0: an exact key is longer than MAX_WINDOW tokens; report the whole hay */
    char *reduced;      /* scratch for the windows */
    int64_t *segments;  /* scratch for their starts and deltas */
    size_t reduced_cap;
    int busy; /* in scan or clear: a second caller (another thread, while this one is in Python
                 code run by the garbage collector) is refused, never let in */
    uint64_t pm[128]; /* bit-parallel LCS pattern; all zero between uses */
} TokenIndex;

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
    return (int32_t)popcount64(~s & keep);
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
indel(TokenIndex *self, const unsigned char *a, int32_t alen, const unsigned char *b, int32_t blen)
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
index_forget(TokenIndex *self)
{
    if (self->slots != NULL) {
        for (size_t i = 0; i < self->cap; i++)
            Py_CLEAR(self->words[i]);
        memset(self->slots, 0, self->cap * sizeof(Slot));
    }
    self->used = 0;
    self->arena_len = 0;
    self->matches_len = 0;
}

static int
table_alloc(TokenIndex *self, size_t cap)
{
    Slot *slots = PyMem_Calloc(cap, sizeof(Slot));
    PyObject **words = PyMem_Calloc(cap, sizeof(PyObject *));
    int32_t *mstart = PyMem_Calloc(cap, sizeof(int32_t));
    int32_t *mcount = PyMem_Calloc(cap, sizeof(int32_t));
    if (slots == NULL || words == NULL || mstart == NULL || mcount == NULL) {
        PyMem_Free(slots);
        PyMem_Free(words);
        PyMem_Free(mstart);
        PyMem_Free(mcount);
        PyErr_NoMemory();
        return -1;
    }
    self->slots = slots;
    self->words = words;
    self->mstart = mstart;
    self->mcount = mcount;
    self->cap = cap;
    return 0;
}

static int
table_grow(TokenIndex *self)
{
    Slot *old = self->slots;
    PyObject **old_words = self->words;
    int32_t *old_mstart = self->mstart, *old_mcount = self->mcount;
    size_t old_cap = self->cap;
    if (table_alloc(self, old_cap * 2) < 0)
        return -1; /* the old table is still in place */
    size_t mask = self->cap - 1;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].hash == 0)
            continue;
        size_t k = old[i].hash & mask;
        while (self->slots[k].hash != 0)
            k = (k + 1) & mask;
        self->slots[k] = old[i];
        self->words[k] = old_words[i]; /* the reference moves */
        self->mstart[k] = old_mstart[i];
        self->mcount[k] = old_mcount[i];
    }
    PyMem_Free(old);
    PyMem_Free(old_words);
    PyMem_Free(old_mstart);
    PyMem_Free(old_mcount);
    return 0;
}

static int
push_match(TokenIndex *self, int32_t target)
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
POPCNT_CLONES static int
index_examine(TokenIndex *self, const unsigned char *w, Py_ssize_t wlen)
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
        const BucketItem *item = &self->bucket_items[k];
        if (POPCOUNT(letters ^ item->letters) > item->budget)
            continue; /* a letter only one of them has needs an insertion or a deletion */
        const Entry *e = &self->entries[item->entry];
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

static Starter *
starter_find(TokenIndex *self, const unsigned char *w, Py_ssize_t wlen)
{
    if (self->starters == NULL)
        return NULL;
    uint64_t h = fnv1a(w, wlen);
    size_t mask = self->starters_cap - 1;
    for (size_t k = h & mask; self->starters[k].hash != 0; k = (k + 1) & mask) {
        Starter *st = &self->starters[k];
        if (st->hash == h && st->len == wlen &&
            memcmp(self->keychars + st->offset, w, (size_t)wlen) == 0)
            return st;
    }
    return NULL;
}

/* The most tokens of an exact key that can start at this word (0: none). */
static uint32_t
starter_tokens(TokenIndex *self, const unsigned char *w, Py_ssize_t wlen)
{
    uint32_t tokens = 0;
    Starter *st = starter_find(self, w, wlen);
    if (st != NULL)
        tokens = (uint32_t)st->tokens;
    for (Py_ssize_t i = 0; i < self->n_prefix_lengths && tokens == 0; i++) {
        Py_ssize_t L = self->prefix_lengths[i];
        if (L > wlen)
            break;
        st = starter_find(self, w, L);
        if (st != NULL && st->prefix)
            tokens = 1;
    }
    return tokens > MAX_WINDOW ? MAX_WINDOW : tokens;
}

/* Slot of the word in the memo (examined if new), or -1 on error. wlen <= MAX_REMEMBERED. */
static Py_ssize_t
index_lookup(TokenIndex *self, const unsigned char *w, Py_ssize_t wlen, uint64_t h)
{
    size_t mask = self->cap - 1;
    size_t k = h & mask;
    for (; self->slots[k].hash != 0; k = (k + 1) & mask) {
        const Slot *sl = &self->slots[k];
        if (sl->hash == h && sl->len == wlen &&
            memcmp(self->arena + sl->word, w, (size_t)wlen) == 0)
            return (Py_ssize_t)k;
    }
    if (self->arena_len + (size_t)wlen > UINT32_MAX) {
        index_forget(self); /* the arena is full: start afresh */
        for (k = h & mask; self->slots[k].hash != 0; k = (k + 1) & mask)
            ;
    }
    size_t first_match = self->matches_len;
    int single = index_examine(self, w, wlen);
    if (single < 0)
        return -1;
    if ((self->used + 1) * 2 > self->cap) {
        if (table_grow(self) < 0)
            return -1;
        mask = self->cap - 1;
        for (k = h & mask; self->slots[k].hash != 0; k = (k + 1) & mask)
            ;
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
    size_t count = self->matches_len - first_match;
    Slot *sl = &self->slots[k];
    sl->hash = h;
    sl->word = (uint32_t)self->arena_len;
    sl->len = (uint16_t)wlen;
    sl->tokens = (uint8_t)starter_tokens(self, w, wlen);
    sl->flags = (single ? NEAR_ONE : 0) | (count ? NEAR_ANCHORS : 0);
    memcpy(self->arena + self->arena_len, w, (size_t)wlen);
    self->arena_len += (size_t)wlen;
    self->words[k] = word;
    self->mstart[k] = (int32_t)first_match;
    self->mcount[k] = (int32_t)count;
    self->used++;
    return (Py_ssize_t)k;
}

/* The gram of target t around the token that starts at `at` (token index `token`): appended to
 * grams as (start token, gram, alias id) if it lines up with the alias and may pass its cutoff.
 * Returns 0, or -1 on error. */
static int
index_gram(TokenIndex *self, const unsigned char *s, Py_ssize_t n, Py_ssize_t token,
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
    if (100 * (int64_t)popcount64(letters ^ a->letters) > room)
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

/* Windows of the hay where an exact key can be: built while scanning. */
typedef struct {
    int open;
    Py_ssize_t win_end;   /* token index the window reaches (exclusive) */
    Py_ssize_t seg_start; /* offset in the hay of the space before its first token */
    Py_ssize_t last_end;  /* offset in the hay of the space after its last token */
    Py_ssize_t len;       /* of the reduced text so far */
    Py_ssize_t count;     /* windows so far */
    int64_t *starts;      /* offset of each window in the reduced text */
    int64_t *deltas;      /* offset in the hay minus offset in the reduced text */
} Windows;

static int
windows_close(TokenIndex *self, Windows *w, const unsigned char *s, Py_ssize_t n)
{
    Py_ssize_t end = w->last_end < n ? w->last_end + 1 : n;
    Py_ssize_t len = end - w->seg_start;
    w->starts[w->count] = w->len;
    w->deltas[w->count] = w->seg_start - w->len;
    w->count++;
    memcpy(self->reduced + w->len, s + w->seg_start, (size_t)len);
    w->len += len;
    self->reduced[w->len++] = '|'; /* in no key: nothing matches across it */
    w->open = 0;
    return 0;
}

/* Token `token` ([start, end) in the hay) that starts keys of up to `tokens` tokens. */
static int
windows_add(TokenIndex *self, Windows *w, const unsigned char *s, Py_ssize_t n, Py_ssize_t token,
            Py_ssize_t start, Py_ssize_t end, uint32_t tokens)
{
    if (tokens > 0 && w->open && token <= w->win_end) {
        if (token + (Py_ssize_t)tokens > w->win_end)
            w->win_end = token + tokens;
    }
    else if (tokens > 0) {
        if (w->open && windows_close(self, w, s, n) < 0)
            return -1;
        w->open = 1;
        w->seg_start = start > 0 ? start - 1 : 0;
        w->win_end = token + tokens;
    }
    else if (w->open && token >= w->win_end) {
        if (windows_close(self, w, s, n) < 0)
            return -1;
    }
    if (w->open && token < w->win_end)
        w->last_end = end;
    return 0;
}

/* The token [start, end) of the hay, with its hash: the bounds and hash in one pass. */
static inline int
next_token(const unsigned char *s, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *start, Py_ssize_t *end,
           uint64_t *hash)
{
    while (i < n && s[i] == ' ')
        i++;
    if (i >= n)
        return 0;
    *start = i;
    uint64_t h = 1469598103934665603ULL;
    while (i < n && s[i] != ' ') {
        h ^= s[i++];
        h *= 1099511628211ULL;
    }
    *end = i;
    *hash = h ? h : 1;
    return 1;
}

/* One token of a scan: its windows, and what it is near. 0, or -1 on error. */
static int
scan_token(TokenIndex *self, Windows *w, const unsigned char *s, Py_ssize_t n, Py_ssize_t token,
           Py_ssize_t start, Py_ssize_t end, uint64_t h, PyObject *singles, PyObject *grams)
{
    self->ring[token % self->ring_size] = start;
    Py_ssize_t wlen = end - start;
    if (!self->windows) { /* then only a word with alias words of its letter and length counts */
        Py_ssize_t key = (Py_ssize_t)s[start] * (self->max_len + 1) + wlen;
        if (wlen > self->max_len || self->bucket_start[key] == self->bucket_start[key + 1])
            return 0;
    }
    if (wlen > MAX_REMEMBERED) /* near no alias word (see init); a starter, perhaps */
        return self->windows
                   ? windows_add(self, w, s, n, token, start, end, starter_tokens(self, s + start, wlen))
                   : 0;
    Py_ssize_t slot = index_lookup(self, s + start, wlen, h);
    if (slot < 0)
        return -1;
    const Slot *sl = &self->slots[slot];
    if (self->windows && windows_add(self, w, s, n, token, start, end, sl->tokens) < 0)
        return -1;
    if (!sl->flags)
        return 0;
    if (sl->flags & NEAR_ONE) {
        PyObject *item = Py_BuildValue("(nO)", token, self->words[slot]);
        if (item == NULL || PyList_Append(singles, item) < 0) {
            Py_XDECREF(item);
            return -1;
        }
        Py_DECREF(item);
    }
    int32_t m0 = self->mstart[slot], m1 = m0 + self->mcount[slot];
    for (int32_t m = m0; m < m1; m++) {
        if (index_gram(self, s, n, token, &self->targets[self->matches[m]], grams) < 0)
            return -1;
    }
    return 0;
}

static int
refuse_if_busy(TokenIndex *self)
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "TokenIndex is in use by another thread: share it under a lock");
        return -1;
    }
    return 0;
}

static PyObject *scan_impl(TokenIndex *self, PyObject *hay);

static PyObject *
TokenIndex_scan(TokenIndex *self, PyObject *hay)
{
    if (refuse_if_busy(self) < 0)
        return NULL;
    self->busy = 1;
    PyObject *result = scan_impl(self, hay);
    self->busy = 0;
    return result;
}

static PyObject *
scan_impl(TokenIndex *self, PyObject *hay)
{
    if (self->slots == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "TokenIndex is not initialised");
        return NULL;
    }
    if (require_ascii(hay, "scan") < 0)
        return NULL;
    if (self->used >= self->limit)
        index_forget(self);
    Py_ssize_t n = PyUnicode_GET_LENGTH(hay);
    const unsigned char *s = PyUnicode_1BYTE_DATA(hay);
    Windows w = {0, 0, 0, 0, 0, 0, NULL, NULL};
    PyObject *singles = PyList_New(0);
    PyObject *grams = PyList_New(0);
    if (singles == NULL || grams == NULL)
        goto fail;
    if (self->windows) {
        /* at most one window per token, two characters of the hay per token */
        if (self->reduced_cap < 2 * (size_t)n + 2) {
            char *grown = PyMem_Realloc(self->reduced, 2 * (size_t)n + 2);
            int64_t *segs = PyMem_Realloc(self->segments, (2 * (size_t)n / 2 + 2) * 2 * sizeof(int64_t));
            if (grown != NULL)
                self->reduced = grown;
            if (segs != NULL)
                self->segments = segs;
            if (grown == NULL || segs == NULL) {
                PyErr_NoMemory();
                goto fail;
            }
            self->reduced_cap = 2 * (size_t)n + 2;
        }
        w.starts = self->segments;
        w.deltas = self->segments + (n / 2 + 2);
    }
    Py_ssize_t start, end, next_start, next_end;
    uint64_t h, next_h;
    int more = next_token(s, n, 0, &start, &end, &h);
    for (Py_ssize_t token = 0; more; token++) {
        /* the next token's slot is fetched from memory while this one is worked on */
        int has_next = next_token(s, n, end, &next_start, &next_end, &next_h);
        if (has_next)
            __builtin_prefetch(&self->slots[next_h & (self->cap - 1)]);
        if (scan_token(self, &w, s, n, token, start, end, h, singles, grams) < 0)
            goto fail;
        more = has_next;
        start = next_start;
        end = next_end;
        h = next_h;
    }
    if (w.open && windows_close(self, &w, s, n) < 0)
        goto fail;
    if (!self->windows || w.len * 5 > n * 4) { /* most of it: the hay itself is cheaper */
        return Py_BuildValue("(NNOOO)", singles, grams, Py_None, Py_None, Py_None);
    }
    PyObject *reduced = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, self->reduced, w.len);
    if (reduced == NULL)
        goto fail;
    PyObject *starts = PyBytes_FromStringAndSize((const char *)w.starts, w.count * 8);
    PyObject *deltas = PyBytes_FromStringAndSize((const char *)w.deltas, w.count * 8);
    if (starts == NULL || deltas == NULL) {
        Py_DECREF(reduced);
        Py_XDECREF(starts);
        Py_XDECREF(deltas);
        goto fail;
    }
    return Py_BuildValue("(NNNNN)", singles, grams, reduced, starts, deltas);
fail:
    Py_XDECREF(singles);
    Py_XDECREF(grams);
    return NULL;
}

static void
TokenIndex_dealloc(TokenIndex *self)
{
    index_forget(self);
    PyMem_Free(self->slots);
    PyMem_Free(self->words);
    PyMem_Free(self->mstart);
    PyMem_Free(self->mcount);
    PyMem_Free(self->aliases);
    PyMem_Free(self->entries);
    PyMem_Free(self->targets);
    PyMem_Free(self->chars);
    PyMem_Free(self->bucket_start);
    PyMem_Free(self->bucket_items);
    PyMem_Free(self->arena);
    PyMem_Free(self->matches);
    PyMem_Free(self->ring);
    PyMem_Free(self->starters);
    PyMem_Free(self->keychars);
    PyMem_Free(self->prefix_lengths);
    PyMem_Free(self->reduced);
    PyMem_Free(self->segments);
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

#define STARTER_SHAPE "starters: a sequence of (word: str, tokens: int)"
#define PREFIX_SHAPE "prefixes: a sequence of str"

/* The exact keys' first words and the wildcard prefixes. Windows are on when either is given
 * and no key is longer than MAX_WINDOW tokens. */
static int
starters_init(TokenIndex *self, PyObject *starters_arg, PyObject *prefixes_arg)
{
    if (starters_arg == NULL && prefixes_arg == NULL)
        return 0;
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL)
        return -1;
    PyObject *sseq = PySequence_Fast(starters_arg ? starters_arg : empty, STARTER_SHAPE);
    PyObject *pseq =
        sseq ? PySequence_Fast(prefixes_arg ? prefixes_arg : empty, PREFIX_SHAPE) : NULL;
    Py_DECREF(empty);
    if (pseq == NULL) {
        Py_XDECREF(sseq);
        return -1;
    }
    int rc = -1;
    Py_ssize_t ns = PySequence_Fast_GET_SIZE(sseq), np = PySequence_Fast_GET_SIZE(pseq);
    Py_ssize_t total = 0;
    int too_long = 0;
    for (Py_ssize_t i = 0; i < ns + np; i++) {
        PyObject *word;
        int tokens = 1;
        if (i < ns) {
            PyObject *item = PySequence_Fast_GET_ITEM(sseq, i);
            if (!PyTuple_Check(item) || !PyArg_ParseTuple(item, "Ui", &word, &tokens)) {
                bad_input(STARTER_SHAPE);
                goto done;
            }
        }
        else {
            word = PySequence_Fast_GET_ITEM(pseq, i - ns);
            if (!PyUnicode_Check(word)) {
                PyErr_SetString(PyExc_TypeError, PREFIX_SHAPE);
                goto done;
            }
        }
        if (require_ascii(word, "TokenIndex starter") < 0)
            goto done;
        if (PyUnicode_GET_LENGTH(word) == 0 || tokens < 1) {
            PyErr_SetString(PyExc_ValueError, "a starter or prefix needs a word (and tokens >= 1)");
            goto done;
        }
        if (tokens > MAX_WINDOW)
            too_long = 1;
        total += PyUnicode_GET_LENGTH(word);
    }
    size_t cap = 16;
    while (cap < 2 * (size_t)(ns + np) + 2)
        cap *= 2;
    self->starters = PyMem_Calloc(cap, sizeof(Starter));
    self->keychars = PyMem_Malloc((size_t)total + 1);
    self->prefix_lengths = PyMem_Calloc((size_t)np + 1, sizeof(int32_t));
    if (!self->starters || !self->keychars || !self->prefix_lengths) {
        PyErr_NoMemory();
        goto done;
    }
    self->starters_cap = cap;
    Py_ssize_t used_chars = 0;
    for (Py_ssize_t i = 0; i < ns + np; i++) {
        PyObject *word = i < ns ? PyTuple_GET_ITEM(PySequence_Fast_GET_ITEM(sseq, i), 0)
                                : PySequence_Fast_GET_ITEM(pseq, i - ns);
        const unsigned char *w = PyUnicode_1BYTE_DATA(word);
        Py_ssize_t wlen = PyUnicode_GET_LENGTH(word);
        Starter *st = starter_find(self, w, wlen);
        if (st == NULL) {
            uint64_t h = fnv1a(w, wlen);
            size_t k = h & (cap - 1);
            while (self->starters[k].hash != 0)
                k = (k + 1) & (cap - 1);
            st = &self->starters[k];
            st->hash = h;
            st->offset = used_chars;
            st->len = (int32_t)wlen;
            memcpy(self->keychars + used_chars, w, (size_t)wlen);
            used_chars += wlen;
        }
        if (i < ns) {
            int tokens = (int)PyLong_AsLong(PyTuple_GET_ITEM(PySequence_Fast_GET_ITEM(sseq, i), 1));
            if (tokens > st->tokens)
                st->tokens = tokens;
        }
        else if (!st->prefix) {
            st->prefix = 1;
            Py_ssize_t k = self->n_prefix_lengths;
            while (k > 0 && self->prefix_lengths[k - 1] > wlen) {
                self->prefix_lengths[k] = self->prefix_lengths[k - 1];
                k--;
            }
            if (k > 0 && self->prefix_lengths[k - 1] == wlen) { /* already there: undo */
                for (; k < self->n_prefix_lengths; k++)
                    self->prefix_lengths[k] = self->prefix_lengths[k + 1];
            }
            else {
                self->prefix_lengths[k] = (int32_t)wlen;
                self->n_prefix_lengths++;
            }
        }
    }
    self->windows = !too_long;
    rc = 0;
done:
    Py_DECREF(sseq);
    Py_DECREF(pseq);
    return rc;
}

static int
TokenIndex_init(TokenIndex *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"aliases", "words", "starters", "prefixes", "limit", NULL};
    PyObject *aliases_arg, *words_arg;
    Py_ssize_t limit = 100000;
    PyObject *aseq = NULL, *wseq = NULL;
    int32_t *reaches = NULL;
    int32_t *fill = NULL;
    PyObject *starters_arg = NULL, *prefixes_arg = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|OOn:TokenIndex", kwlist, &aliases_arg,
                                     &words_arg, &starters_arg, &prefixes_arg, &limit))
        return -1;
    if (self->aliases != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "TokenIndex is already initialised");
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
        if (require_ascii(text, "TokenIndex alias") < 0)
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
        if (require_ascii(word, "TokenIndex word") < 0)
            goto fail;
        Py_ssize_t len = PyUnicode_GET_LENGTH(word);
        if (len == 0 || len > 10000 || reach < 0 || reach > 10000 ||
            PyList_GET_SIZE(targets) == 0) {
            PyErr_SetString(PyExc_ValueError,
                            "a word needs 1-10000 characters, reach 0-10000 and a target");
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
    self->bucket_items = PyMem_Malloc(((size_t)slots + 1) * sizeof(BucketItem));
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
            BucketItem *item = &self->bucket_items[self->bucket_start[key] + fill[key]++];
            item->letters = e->letters;
            item->budget = e->budget;
            item->entry = (int32_t)i;
        }
    }
    self->limit = (size_t)limit;
    if (starters_init(self, starters_arg, prefixes_arg) < 0)
        goto fail;
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
TokenIndex_clear(TokenIndex *self, PyObject *Py_UNUSED(ignored))
{
    if (refuse_if_busy(self) < 0)
        return NULL;
    index_forget(self);
    Py_RETURN_NONE;
}

static Py_ssize_t
TokenIndex_len(TokenIndex *self)
{
    return (Py_ssize_t)self->used;
}

static PyMethodDef TokenIndex_methods[] = {
    {"scan", (PyCFunction)TokenIndex_scan, METH_O,
     "scan(hay) -> (singles, grams, reduced, starts, deltas): singles [(token index, word)]\n"
     "are tokens within the budget of a one-word alias; grams [(start token, gram, alias id)]\n"
     "are grams around a token within the budget of a word of a longer alias that line up\n"
     "with that alias and are within its cutoff, in the order of the tokens; reduced is the\n"
     "windows where an exact key can be, joined by '|' (None: use the hay), starts their\n"
     "offsets in it and deltas (offset in the hay - offset in reduced). See bot/engine/wordscan.py."},
    {"clear", (PyCFunction)TokenIndex_clear, METH_NOARGS, "Forget every word examined so far."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods TokenIndex_as_sequence = {
    .sq_length = (lenfunc)TokenIndex_len,
};

static PyTypeObject TokenIndexType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "bot.engine._wordscan.TokenIndex",
    .tp_doc = "TokenIndex(aliases, words, starters=None, prefixes=None, limit=100000): the\n"
              "first pass over an article's tokens (see bot/engine/wordscan.py). len() is the number\n"
              "of words remembered.",
    .tp_basicsize = sizeof(TokenIndex),
    .tp_itemsize = 0,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)TokenIndex_init,
    .tp_dealloc = (destructor)TokenIndex_dealloc,
    .tp_methods = TokenIndex_methods,
    .tp_as_sequence = &TokenIndex_as_sequence,
};

static PyMethodDef module_methods[] = {
    {"token_starts", (PyCFunction)wordscan_token_starts, METH_O,
     "token_starts(normalised) -> bytes: the offset of every [a-z0-9] run, as native int32."},
    {"hay", (PyCFunction)wordscan_hay, METH_O,
     "hay(normalised) -> ' tok tok … ': the [a-z0-9] runs joined by single spaces, a space at\n"
     "both ends."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef wordscan_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "bot.engine._wordscan",
    .m_doc = "Compiled per-character loops of the matcher (see bot/engine/wordscan.py).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__wordscan(void)
{
    if (PyType_Ready(&TokenIndexType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&wordscan_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&TokenIndexType);
    if (PyModule_AddObject(m, "TokenIndex", (PyObject *)&TokenIndexType) < 0) {
        Py_DECREF(&TokenIndexType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
