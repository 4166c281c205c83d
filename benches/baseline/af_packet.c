/* The kernel's side of the e1000 data path, for the lab's tests and
 * benches/e1000.sh: test frames sent or received through an AF_PACKET
 * socket on an interface the kernel's e1000 driver owns. The frames are the
 * ones `mmiodrv e1000 tx` sends (drivers/e1000/src/net.rs, test_frame):
 * destination, source (the interface's address), EtherType 0x88b5, the
 * sequence number big-endian at byte 14, then byte i of the frame is i % 256.
 *
 *   af_packet send IFACE DST_MAC COUNT SIZE     COUNT frames of SIZE bytes (60..1514), seq 0..COUNT-1
 *   af_packet recv IFACE COUNT TIMEOUT_MS      COUNT frames of EtherType 0x88b5, each checked
 *
 * send hands the frames over with sendmmsg(2) in batches of 32 (what
 * mmiodrv does per doorbell); a full queue (ENOBUFS) is waited out, not
 * counted as sent. recv takes them with recvmmsg(2), checks the pattern
 * and counts frames out of sequence. Each prints one line of key=value:
 *   sent=N bytes=B elapsed_us=T pps=R          (time: first sendmmsg to the last)
 *   received=N bytes=B bad=K elapsed_us=T pps=R (time: first frame to the last;
 *                                                rate over the frames after the first)
 * Exit 0 when COUNT frames went (came, all good), 1 otherwise, 2 on usage. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETHERTYPE_TEST 0x88b5
#define SEQ_OFFSET 14
#define BATCH 32
#define MAX_FRAME 1514

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int open_socket(const char *iface, uint16_t proto, int *ifindex, unsigned char mac[6]) {
    int fd = socket(AF_PACKET, SOCK_RAW, htons(proto));
    if (fd < 0) {
        perror("socket(AF_PACKET)");
        exit(1);
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", iface);
    if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
        perror(iface);
        exit(1);
    }
    *ifindex = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
        perror("SIOCGIFHWADDR");
        exit(1);
    }
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(proto), .sll_ifindex = *ifindex};
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
        perror("bind");
        exit(1);
    }
    return fd;
}

static int parse_mac(const char *s, unsigned char mac[6]) {
    unsigned v[6];
    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
        return -1;
    for (int i = 0; i < 6; i++)
        mac[i] = (unsigned char)v[i];
    return 0;
}

static void fill(unsigned char *f, size_t len, const unsigned char dst[6], const unsigned char src[6], uint32_t seq) {
    for (size_t i = 0; i < len; i++)
        f[i] = (unsigned char)i;
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = ETHERTYPE_TEST >> 8;
    f[13] = ETHERTYPE_TEST & 0xff;
    f[SEQ_OFFSET] = seq >> 24;
    f[SEQ_OFFSET + 1] = seq >> 16;
    f[SEQ_OFFSET + 2] = seq >> 8;
    f[SEQ_OFFSET + 3] = seq;
}

static int do_send(const char *iface, const char *dst_text, long count, long size) {
    unsigned char dst[6], src[6];
    int ifindex;
    if (parse_mac(dst_text, dst) < 0 || size < 60 || size > MAX_FRAME || count < 1) {
        fprintf(stderr, "af_packet send: bad MAC, size (60..1514) or count\n");
        return 2;
    }
    int fd = open_socket(iface, ETHERTYPE_TEST, &ifindex, src);
    static unsigned char frames[BATCH][MAX_FRAME];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6};
    memcpy(to.sll_addr, dst, 6);
    for (int i = 0; i < BATCH; i++) {
        fill(frames[i], size, dst, src, 0);
        iov[i] = (struct iovec){.iov_base = frames[i], .iov_len = size};
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &to;
        msgs[i].msg_hdr.msg_namelen = sizeof to;
    }
    long sent = 0;
    double start = now_us(), last = start;
    while (sent < count) {
        int n = count - sent < BATCH ? (int)(count - sent) : BATCH;
        for (int i = 0; i < n; i++) {
            uint32_t seq = (uint32_t)(sent + i);
            frames[i][SEQ_OFFSET] = seq >> 24;
            frames[i][SEQ_OFFSET + 1] = seq >> 16;
            frames[i][SEQ_OFFSET + 2] = seq >> 8;
            frames[i][SEQ_OFFSET + 3] = seq;
        }
        int done = sendmmsg(fd, msgs, n, 0);
        if (done < 0) {
            if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
                sched_yield();
                continue;
            }
            perror("sendmmsg");
            break;
        }
        sent += done;
        last = now_us();
    }
    double us = last - start;
    printf("sent=%ld bytes=%ld elapsed_us=%.0f pps=%.0f\n", sent, sent * size, us, us > 0 ? sent / us * 1e6 : 0);
    return sent == count ? 0 : 1;
}

static int good(const unsigned char *f, size_t len, uint32_t seq) {
    if (len < 60 || f[12] != (ETHERTYPE_TEST >> 8) || f[13] != (ETHERTYPE_TEST & 0xff))
        return 0;
    uint32_t got = (uint32_t)f[14] << 24 | (uint32_t)f[15] << 16 | (uint32_t)f[16] << 8 | f[17];
    if (got != seq)
        return 0;
    for (size_t i = SEQ_OFFSET + 4; i < len; i++)
        if (f[i] != (unsigned char)i)
            return 0;
    return 1;
}

static int do_recv(const char *iface, long count, long timeout_ms) {
    unsigned char mac[6];
    int ifindex;
    if (count < 1) {
        fprintf(stderr, "af_packet recv: count must be at least 1\n");
        return 2;
    }
    int fd = open_socket(iface, ETHERTYPE_TEST, &ifindex, mac);
    int rcvbuf = 16 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
    static unsigned char frames[BATCH][2048];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    for (int i = 0; i < BATCH; i++) {
        iov[i] = (struct iovec){.iov_base = frames[i], .iov_len = sizeof frames[i]};
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    printf("ready\n");
    fflush(stdout);
    long received = 0, bad = 0, bytes = 0;
    double deadline = now_us() + timeout_ms * 1e3, first = 0, last = 0;
    while (received < count) {
        double left = deadline - now_us();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(left / 1e3) + 1);
        if (r < 0 && errno != EINTR) {
            perror("poll");
            break;
        }
        if (r <= 0)
            continue;
        int want = count - received < BATCH ? (int)(count - received) : BATCH;
        int n = recvmmsg(fd, msgs, want, MSG_DONTWAIT, NULL);
        if (n <= 0)
            continue;
        double t = now_us();
        if (received == 0)
            first = t;
        last = t;
        for (int i = 0; i < n; i++) {
            bad += !good(frames[i], msgs[i].msg_len, (uint32_t)(received + i));
            bytes += msgs[i].msg_len;
        }
        received += n;
    }
    double us = last - first;
    printf("received=%ld bytes=%ld bad=%ld elapsed_us=%.0f pps=%.0f\n", received, bytes, bad, us,
           us > 0 ? (received - 1) / us * 1e6 : 0);
    return received == count && bad == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[1], "send") == 0)
        return do_send(argv[2], argv[3], strtol(argv[4], NULL, 0), strtol(argv[5], NULL, 0));
    if (argc == 5 && strcmp(argv[1], "recv") == 0)
        return do_recv(argv[2], strtol(argv[3], NULL, 0), strtol(argv[4], NULL, 0));
    fprintf(stderr, "usage: %s send IFACE DST_MAC COUNT SIZE | recv IFACE COUNT TIMEOUT_MS\n", argv[0]);
    return 2;
}
