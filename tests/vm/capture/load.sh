#!/bin/dash
# The recorded workload (see capture-init.sh): for $1 seconds, four loops at once, each a
# dash script forking real programs, so the capture looks like a busy system rather than a
# microbenchmark:
#   scripts  text processing with coreutils in pipelines, nested shells, temp files
#   files    directory walks, copies, archives, checksums, small-block reads and writes
#   http     busybox httpd on 127.0.0.1:8080 and curl / wget clients
#   misc     process and identity lookups, sleeps, UDP datagrams, failing opens
end=$(($(date +%s) + ${1:-90}))
work=/tmp/load
mkdir -p $work/www $work/tree
for i in $(seq 1 50); do
	head -c $((i * 997)) /dev/urandom | od -An -tx1 >$work/www/page$i.txt 2>/dev/null ||
		seq 1 $((i * 40)) >$work/www/page$i.txt
done
cp -r /etc /vm $work/tree/ 2>/dev/null
httpd -p 127.0.0.1:8080 -h $work/www
nc -u -l -p 9999 >/dev/null 2>&1 &
udp=$!

scripts() {
	n=0
	while [ "$(date +%s)" -lt $end ]; do
		n=$((n + 1))
		f=$work/s$n
		seq 1 500 | sort -r | head -n 200 | tr '0-9' 'a-j' >$f
		wc -l $f | cut -d' ' -f1 >/dev/null
		grep -c a $f >/dev/null
		sed -e 's/a/A/g' $f | uniq | tail -n 5 >/dev/null
		sh -c "sh -c 'cat $f | md5sum' >/dev/null"
		env LC_ALL=C sort $f | sha256sum >/dev/null
		basename $f >/dev/null; dirname $f >/dev/null; readlink -f $f >/dev/null
		mkdir -p $work/d$n && cp $f $work/d$n/ && mv $work/d$n/s$n $work/d$n/t$n
		chmod 600 $work/d$n/t$n && ln -s $work/d$n/t$n $work/d$n/link
		stat $work/d$n/link >/dev/null
		rm -rf $work/d$n $f
	done
}

files() {
	n=0
	while [ "$(date +%s)" -lt $end ]; do
		n=$((n + 1))
		find $work/tree -type f | xargs cat >/dev/null 2>&1
		tar -cf $work/a$n.tar -C $work tree 2>/dev/null
		gzip -1 $work/a$n.tar && gzip -dc $work/a$n.tar.gz | tar -tf - >/dev/null
		dd if=/dev/zero of=$work/blk$n bs=512 count=8000 2>/dev/null
		dd if=$work/blk$n of=/dev/null bs=256 2>/dev/null
		ls -laR $work/tree >/dev/null
		cat /etc/passwd /etc/group /etc/hostname >/dev/null
		rm -f $work/a$n.tar.gz $work/blk$n
	done
}

http() {
	n=0
	while [ "$(date +%s)" -lt $end ]; do
		n=$((n + 1))
		i=$((n % 50 + 1))
		curl -s -o /dev/null http://127.0.0.1:8080/page$i.txt
		wget -q -O /dev/null http://127.0.0.1:8080/page$i.txt
		curl -s -o /dev/null http://127.0.0.1:8080/missing$n
		echo "ping $n" | nc -w 1 127.0.0.1 8080 >/dev/null 2>&1
	done
}

misc() {
	n=0
	while [ "$(date +%s)" -lt $end ]; do
		n=$((n + 1))
		id >/dev/null; uname -a >/dev/null; ps >/dev/null 2>&1
		cat /proc/self/status /proc/loadavg >/dev/null
		echo "datagram $n" | nc -u -w 1 127.0.0.1 9999 2>/dev/null
		cat /nonexistent/$n 2>/dev/null
		cat /etc/shadow >/dev/null 2>&1
		touch $work/m$n && rm $work/m$n
		sleep 0.2
	done
}

scripts & a=$!
files & b=$!
http & c=$!
misc & d=$!
wait $a $b $c $d
kill $udp 2>/dev/null
killall httpd 2>/dev/null
echo "load done"
