-- One database per service (customs_shared.services), owned by the compose user.
CREATE DATABASE gateway;
CREATE DATABASE declarations;
CREATE DATABASE signatures;
CREATE DATABASE ipr;
CREATE DATABASE routing;
