#!/usr/bin/perl
# A tiny HTTP server for berth's tests of generic services, in Perl because
# every Debian system (and the test images' base) has perl-base.
#
#   httpd.pl PORT
#
# GET /health answers 200 once a TCP connection to $DB_HOST:$DB_PORT (when
# set) succeeds, else 503; any other path answers 200 with the path.
use strict;
use warnings;
use IO::Socket::INET;

my $port = shift @ARGV // $ENV{PORT} // 8080;
my $server = IO::Socket::INET->new(
    LocalAddr => '0.0.0.0', LocalPort => $port, Listen => 16, ReuseAddr => 1,
) or die "cannot listen on $port: $!\n";
$| = 1;
print "listening on $port\n";
$SIG{TERM} = sub { print "stopping\n"; exit 0 };

while (my $client = $server->accept) {
    my $request = <$client> // '';
    while (my $line = <$client>) { last if $line =~ /^\r?\n$/ }
    my ($path) = $request =~ m{^GET (\S+)};
    $path //= '/';
    my ($status, $body) = (200, "path $path\n");
    if ($path eq '/health' && $ENV{DB_HOST}) {
        my $db = IO::Socket::INET->new(PeerAddr => $ENV{DB_HOST}, PeerPort => $ENV{DB_PORT}, Timeout => 1);
        ($status, $body) = $db ? (200, "db reachable\n") : (503, "db unreachable\n");
    }
    my $reason = $status == 200 ? 'OK' : 'Service Unavailable';
    print $client "HTTP/1.1 $status $reason\r\nContent-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
    close $client;
}
