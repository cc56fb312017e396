/*
 * What Berkeley DB 5.3 alone costs for the disk queue's work, with no server around it: how
 * fast one thread can push and pop through the same data model (a Hash index from queue id +
 * digest to sequence, with sorted duplicates, and a B-Tree from queue id + sequence to the
 * message), in transactions of 2,000 operations committed without sync, in a private
 * environment opened as the disk queue opens its own. It is the ceiling of the database thread.
 *
 *   cc -O2 -o /tmp/bdb_ceiling bin/bdb_ceiling.c -ldb && /tmp/bdb_ceiling /tmp/bdb-ceiling 1000000
 *
 * Pushes draw their digests from a million values (as redis-benchmark -r 1000000 does: of a million
 * pushes about a third find an equal message queued, of two million 57%), and one that finds its
 * digest known reads the queued message back, as the server does to compare the bytes; pops take
 * the head of the B-Tree and delete its index entry. Prints microseconds per push and per pop. Runs beside bin/bench's figures, not inside it:
 * it measures the library, not DiskQueue.
 */
#include <db.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PER_TRANSACTION 2000

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void check(int code, const char *what) {
    if (code != 0) {
        fprintf(stderr, "%s: %s\n", what, db_strerror(code));
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s EMPTY-OR-NEW-DIRECTORY [PUSHES]\n", argv[0]);
        return 2;
    }
    const char *directory = argv[1];
    long pushes = argc > 2 ? atol(argv[2]) : 1000000;
    char command[4096];
    snprintf(command, sizeof command, "rm -rf '%s' && mkdir -p '%s'", directory, directory);
    if (system(command) != 0) return 1;

    DB_ENV *env;
    check(db_env_create(&env, 0), "db_env_create");
    env->set_cachesize(env, 0, 256 << 20, 1);
    env->set_lg_bsize(env, 8 << 20);
    env->set_lg_max(env, 16 << 20);
    env->set_lk_max_locks(env, 100000);
    env->set_lk_max_objects(env, 100000);
    check(env->open(env, directory,
                    DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL | DB_RECOVER | DB_PRIVATE,
                    0600),
          "DB_ENV->open");

    DB *messages, *index;
    DB_TXN *txn;
    check(env->txn_begin(env, NULL, &txn, 0), "txn_begin");
    check(db_create(&messages, env, 0), "db_create");
    check(messages->open(messages, txn, "queues.db", "messages", DB_BTREE, DB_CREATE, 0600), "open messages");
    check(db_create(&index, env, 0), "db_create");
    check(index->set_flags(index, DB_DUP | DB_DUPSORT), "set_flags");
    check(index->open(index, txn, "queues.db", "index", DB_HASH, DB_CREATE, 0600), "open index");
    check(txn->commit(txn, 0), "commit");

    const uint64_t queue = __builtin_bswap64(1);
    // The stored value: 4 bytes of flags, then an 18-byte message whose first 8 bytes are its
    // digest here (the server computes it from the message instead).
    unsigned char value[4 + 18];
    memset(value, 'x', sizeof value);
    uint64_t next = 1;
    long stored = 0;
    srand(1);

    double start = now();
    for (long done = 0; done < pushes;) {
        check(env->txn_begin(env, NULL, &txn, DB_TXN_NOWAIT), "txn_begin");
        for (int i = 0; i < PER_TRANSACTION && done < pushes; i++, done++) {
            uint64_t digest = (uint64_t)(rand() % 1000000) * 2654435761u;
            uint64_t digestKey[2] = {queue, digest};
            uint64_t sequence = __builtin_bswap64(next);
            DBT key = {.data = digestKey, .size = sizeof digestKey};
            DBT data = {.data = &sequence, .size = sizeof sequence};
            int code = index->put(index, txn, &key, &data, DB_NOOVERWRITE);
            if (code == DB_KEYEXIST) {
                // As the server does: read the queued message back, to compare its bytes (a
                // digest alone could be shared by two different messages).
                uint64_t found;
                DBT fdata = {.data = &found, .ulen = sizeof found, .flags = DB_DBT_USERMEM};
                check(index->get(index, txn, &key, &fdata, 0), "index get");
                uint64_t existingKey[2] = {queue, found};
                DBT ekey = {.data = existingKey, .size = sizeof existingKey};
                DBT edata = {0};
                check(messages->get(messages, txn, &ekey, &edata, 0), "message get");
                continue;
            }
            check(code, "index put");
            memcpy(value + 4, &digest, sizeof digest);
            uint64_t messageKey[2] = {queue, sequence};
            DBT mkey = {.data = messageKey, .size = sizeof messageKey};
            DBT mdata = {.data = value, .size = sizeof value};
            check(messages->put(messages, txn, &mkey, &mdata, 0), "messages put");
            next++;
            stored++;
        }
        check(txn->commit(txn, DB_TXN_WRITE_NOSYNC), "commit");
    }
    double pushed = now();

    long popped = 0;
    for (int more = 1; more;) {
        DBC *cursor;
        check(env->txn_begin(env, NULL, &txn, DB_TXN_NOWAIT), "txn_begin");
        check(messages->cursor(messages, txn, &cursor, 0), "cursor");
        more = 0;
        for (int i = 0; i < PER_TRANSACTION; i++) {
            uint64_t first[2] = {queue, 0};
            DBT key = {.data = first, .size = sizeof first, .ulen = sizeof first, .flags = DB_DBT_USERMEM};
            DBT data = {0};
            if (cursor->get(cursor, &key, &data, DB_SET_RANGE) != 0) break;
            uint64_t sequence = first[1];
            uint64_t digest;
            memcpy(&digest, (unsigned char *)data.data + 4, sizeof digest);
            check(cursor->del(cursor, 0), "messages delete");
            // Its index entry, found by digest and sequence, as the server deletes it.
            uint64_t digestKey[2] = {queue, digest};
            DBT ikey = {.data = digestKey, .size = sizeof digestKey};
            DBT idata = {.data = &sequence, .size = sizeof sequence};
            DBC *entries;
            check(index->cursor(index, txn, &entries, 0), "index cursor");
            check(entries->get(entries, &ikey, &idata, DB_GET_BOTH), "index entry of a popped message");
            check(entries->del(entries, 0), "index delete");
            check(entries->close(entries), "index cursor close");
            popped++;
            more = 1;
        }
        check(cursor->close(cursor), "cursor close");
        check(txn->commit(txn, DB_TXN_WRITE_NOSYNC), "commit");
    }
    double end = now();

    printf("%ld pushes (%ld stored): %.2f us each; %ld pops: %.2f us each\n", pushes, stored,
           (pushed - start) / pushes * 1e6, popped, (end - pushed) / (popped ? popped : 1) * 1e6);
    index->close(index, 0);
    messages->close(messages, 0);
    env->close(env, 0);
    return 0;
}
